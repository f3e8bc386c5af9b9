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
  # Below the ephemeral range (32768-60999), where a client socket may hold the port.
  port=$((20000 + RANDOM % 12000))
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

# Out of file descriptors: with RLIMIT_NOFILE at 48, 100 connections leave the server's
# multishot accept failing with EMFILE. It must back off (not spin re-arming), keep serving
# the connections it has, and accept again once descriptors free up.
for try in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 12000))
  (ulimit -n 48; exec "$server_bin" "$port") >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 50); do grep -q listening "$log" && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  grep -q listening "$log" && break
  wait "$pid" 2>/dev/null || true; pid=
done
if python3 - "$port" "$pid" <<'PY'
import os, socket, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])
def cpu():
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
conns = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(100)]
time.sleep(0.3)
c0, t0 = cpu(), time.monotonic()
time.sleep(1.0)
share = (cpu() - c0) / (time.monotonic() - t0)
conns[0].sendall(b"still served")
assert conns[0].recv(64) == b"still served", "an accepted connection stopped being served"
for s in conns[1:]:
    s.close()
time.sleep(0.3)
late = socket.create_connection(("127.0.0.1", port), timeout=5)
late.sendall(b"late")
late.settimeout(5)
assert late.recv(64) == b"late", "no accept after descriptors freed up"
print(f"server CPU while out of descriptors: {share:.0%}")
sys.exit(0 if share < 0.2 else "the server spins while accept fails with EMFILE")
PY
then
  pass=$((pass + 1)); echo "PASS echo server: backs off when accept fails with EMFILE"
else
  fail=$((fail + 1)); echo "FAIL echo server: EMFILE"; tail -20 "$log" | sed 's/^/    /'
fi
kill -INT "$pid"; wait "$pid" || true
pid=
echo "${SUITE:-echo}-tests: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
