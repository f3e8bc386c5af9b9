#!/usr/bin/env bash
# Echo round trips through examples/c/echo_server (built with AddressSanitizer) driven by the
# load generator, which verifies every echoed byte: 1, 64 and 1000 connections, 64 B and
# 4 KiB messages, bounded by message count. Then SIGINT: the server must tear down cleanly
# (exit 0, no ASan report) with its multishot operations armed. Loopback only.
set -euo pipefail
server_bin=$1 loadgen_bin=$2
log=$(mktemp)
trap 'rm -f "$log"; [ -n "${pid:-}" ] && kill -9 "$pid" 2>/dev/null || true' EXIT

for try in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 30000))
  "$server_bin" "$port" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 50); do grep -q listening "$log" && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  grep -q listening "$log" && break
  wait "$pid" 2>/dev/null || true; pid=
done
[ -n "${pid:-}" ] || { echo "FAIL echo: server did not start"; cat "$log"; exit 1; }

pass=0 fail=0
run() {
  if out=$(timeout 60 "$loadgen_bin" --port "$port" "$@" --duration 30 2>&1); then
    pass=$((pass + 1)); echo "PASS echo $*: $(echo "$out" | grep -o 'msgs_per_sec=[0-9]*')"
  else
    fail=$((fail + 1)); echo "FAIL echo $*"; echo "$out" | tail -5 | sed 's/^/    /'
  fi
}
run --connections 1 --size 64 --depth 1 --messages 20000
run --connections 1 --size 4096 --depth 4 --messages 20000
run --connections 64 --size 64 --depth 2 --messages 100000
run --connections 64 --size 4096 --depth 1 --messages 50000
run --connections 1000 --size 64 --depth 1 --messages 100000
run --connections 1000 --size 4096 --depth 1 --messages 50000

kill -INT "$pid"
if wait "$pid"; then
  pass=$((pass + 1)); echo "PASS echo server: clean exit on SIGINT"
else
  fail=$((fail + 1)); echo "FAIL echo server: exit status $? on SIGINT"; tail -30 "$log" | sed 's/^/    /'
fi
pid=
echo "echo-tests: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
