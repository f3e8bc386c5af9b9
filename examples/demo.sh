#!/usr/bin/env bash
# make demo: the C echo server (examples/c/echo_server.c) under the bundled load generator
# (bench/loadgen.c), each pinned to its own CPU, on loopback for a few seconds per setting.
# Prints throughput, latency percentiles and the server's CPU time per message.
set -euo pipefail
server_bin=$1 loadgen_bin=$2
seconds=${DEMO_SECONDS:-3}
cpus=$(nproc)
server_cpu=0 loadgen_cpu=$(( cpus > 1 ? 1 : 0 ))
log=$(mktemp)
trap 'rm -f "$log"; [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true' EXIT

port=$((20000 + RANDOM % 30000))
"$server_bin" "$port" "$server_cpu" >"$log" 2>&1 &
pid=$!
for _ in $(seq 50); do grep -q listening "$log" && break; sleep 0.1; done
grep -q listening "$log" || { echo "echo server failed to start:"; cat "$log"; exit 1; }

echo "libasyncring echo demo: server on CPU $server_cpu, load generator on CPU $loadgen_cpu, ${seconds}s per row"
printf '%-34s %12s %9s %9s %9s %14s\n' "setting" "msgs/s" "p50 us" "p99 us" "p999 us" "server ns/msg"
for setting in "1 64 1" "16 64 1" "64 64 4" "64 4096 1"; do
  set -- $setting
  line=$("$loadgen_bin" --port "$port" --connections "$1" --size "$2" --depth "$3" --duration "$seconds" \
         --warmup 0.5 --cpu "$loadgen_cpu" --server-pid "$pid" | grep '^RESULT')
  get() { echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
  printf '%-34s %12s %9s %9s %9s %14s\n' "$1 conns, $2 B, $3 in flight each" \
    "$(get msgs_per_sec)" "$(get p50_us)" "$(get p99_us)" "$(get p999_us)" "$(get server_cpu_ns_per_msg)"
done
kill -INT "$pid"; wait "$pid"; pid=
echo "every echoed byte was verified; the server exited cleanly on SIGINT"
