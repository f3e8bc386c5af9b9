#!/usr/bin/env python3
"""make bench: every figure of SPEC section 7 as a ratio against a baseline run beside it.

Each measurement alternates ours and its baseline, several runs each, and reports the
median, the min-max spread and the ratio of medians; syscalls per operation (perf's
raw_syscalls tracepoint, difference of two run lengths) and heap allocations per operation
(an LD_PRELOAD malloc counter, same difference) where they tell more than time does.
Writes bench/RESULTS.md and prints it. Bounded: a few minutes in all.

    python3 bench/run.py [--quick]
"""

import datetime
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
QUICK = "--quick" in sys.argv
RUNS = 3 if QUICK else 7
# NOP runs are short (a tenth of a second): more of them steady the median on a noisy machine.
NOP_RUNS = 3 if QUICK else 11
ECHO_RUNS = 2 if QUICK else 3
ECHO_SECONDS = 1.0 if QUICK else 2.0
SERVER_CPU, CLIENT_CPU = "0", ("1" if os.cpu_count() > 1 else "0")


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


def result(out):
    """Parses the 'RESULT k=v ...' line of a benchmark program."""
    line = next(l for l in out.splitlines() if l.startswith("RESULT"))
    return {k: float(v) for k, v in re.findall(r"(\w+)=([-0-9.]+)", line)}


def stats(values):
    return statistics.median(values), min(values), max(values)


def perf_available():
    if not shutil.which("perf"):
        return False
    r = subprocess.run(["perf", "stat", "-e", "raw_syscalls:sys_enter", "-x,", "true"], capture_output=True, text=True)
    return r.returncode == 0 and "sys_enter" in r.stderr


PERF = perf_available()
MALLOC_COUNT = os.path.join(BUILD, "malloc_count.so")


def syscalls(cmd):
    r = subprocess.run(["perf", "stat", "-e", "raw_syscalls:sys_enter", "-x,", "--"] + cmd, capture_output=True, text=True)
    return int(r.stderr.strip().splitlines()[-1].split(",")[0])


def allocations(cmd):
    with tempfile.NamedTemporaryFile(mode="r") as f:
        env = dict(os.environ, LD_PRELOAD=MALLOC_COUNT, MALLOC_COUNT_OUT=f.name)
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        return int(f.read().split()[1])


def per_op(counter, make_cmd, n):
    """Per-operation cost by difference: (count(2n) - count(n)) / n, so setup cancels out."""
    return (counter(make_cmd(2 * n)) - counter(make_cmd(n))) / n


def compare(name, ours, base, runs=RUNS):
    """Alternates the two commands; both print RESULT ns_per_op=..."""
    o, b = [], []
    for _ in range(runs):
        o.append(result(sh(ours))["ns_per_op"])
        b.append(result(sh(base))["ns_per_op"])
    om, bm = stats(o), stats(b)
    return {"name": name, "ours": om, "base": bm, "ratio": bm[0] / om[0]}


def build():
    steps = [
        ["make", "-C", ROOT, "--no-print-directory", "prefix", "build/nop_c", "build/file_c", "build/loadgen",
         "build/examples/echo_server", "build/malloc_count.so", "build/echo_epoll", "build/echo_uring_raw",
         "build/file_pool"],
        ["cargo", "build", "--release", "--quiet", "--manifest-path", os.path.join(ROOT, "bench/raw/Cargo.toml")],
    ]
    for s in steps:
        subprocess.run(s, check=True, stdout=subprocess.DEVNULL)
    # The Zig echo example, optimised, into build/zig (best effort: the C figures stand alone).
    try:
        zig = sh([os.path.join(ROOT, "scripts/provision-zig.sh")]).strip()
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(BUILD, "prefix/lib/pkgconfig"))
        subprocess.run([zig, "build", "-Doptimize=ReleaseFast", "-Dlink=system", "-p", os.path.join(BUILD, "zig"),
                        "--cache-dir", os.path.join(BUILD, "zig/cache")],
                       cwd=ROOT, env=env, check=True, capture_output=True)
    except (subprocess.CalledProcessError, OSError) as e:
        print(f"Zig echo server not built ({e}); its row is left out", file=sys.stderr)


def machine():
    model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    return f"{model}, {os.cpu_count()} CPUs, Linux {platform.release()}"


# --- NOP round trip ---------------------------------------------------------------------------

def bench_nop():
    nop_c, nop_raw = os.path.join(BUILD, "nop_c"), os.path.join(ROOT, "bench/raw/target/release/nop_raw")
    rows = []
    for batch in (1, 32, 256):
        n = (300_000 if batch == 1 else 1_000_000) // (4 if QUICK else 1)
        row = compare(f"batch {batch}", [nop_c, str(batch), str(n)], [nop_raw, str(batch), str(n)], runs=NOP_RUNS)
        small = 20_000 if batch == 1 else 200_000
        if PERF:
            row["sys_ours"] = per_op(syscalls, lambda k: [nop_c, str(batch), str(k)], small)
            row["sys_base"] = per_op(syscalls, lambda k: [nop_raw, str(batch), str(k)], small)
        row["alloc_ours"] = per_op(allocations, lambda k: [nop_c, str(batch), str(k)], small)
        rows.append(row)
    ts = [
        compare_cpu(f"AR_RING_THREADSAFE{extra}", [nop_c, "32", "300000", mode], [nop_c, "32", "300000"])
        for extra, mode in (("", "threadsafe"), (", submitter thread (where SQPOLL cannot be set up)", "threadsafe-submitter"))
    ]
    return rows, ts


def callgrind_instructions(make_cmd, n):
    """User-space instructions per operation, by difference of two run lengths (callgrind
    counts instructions, which the machine's noise does not change)."""
    def count(k):
        with tempfile.TemporaryDirectory() as d:
            r = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={d}/out"] + make_cmd(k),
                               capture_output=True, text=True)
            return int(re.search(r"Collected : (\d+)", r.stderr).group(1))
    return (count(2 * n) - count(n)) / n


def bench_instructions():
    """Callgrind instructions per NOP, ours against the raw io-uring loop (SPEC §7)."""
    if not shutil.which("valgrind"):
        return []
    nop_c, nop_raw = os.path.join(BUILD, "nop_c"), os.path.join(ROOT, "bench/raw/target/release/nop_raw")
    rows = []
    for batch in (1, 32):
        ours = callgrind_instructions(lambda k: [nop_c, str(batch), str(k)], 32_000)
        raw = callgrind_instructions(lambda k: [nop_raw, str(batch), str(k)], 32_000)
        rows.append((batch, ours, raw))
    return rows


def compare_cpu(name, ours, base, runs=RUNS):
    """`compare`, also keeping the CPU time per operation of every thread of the process."""
    o, b, oc, bc = [], [], [], []
    for _ in range(runs):
        r = result(sh(ours))
        o.append(r["ns_per_op"])
        oc.append(r["cpu_ns_per_op"])
        r = result(sh(base))
        b.append(r["ns_per_op"])
        bc.append(r["cpu_ns_per_op"])
    om, bm = stats(o), stats(b)
    return {"name": name, "ours": om, "base": bm, "ratio": om[0] / bm[0], "cpu": stats(oc), "base_cpu": stats(bc)}


# --- 4 KiB random reads -----------------------------------------------------------------------

def bench_file():
    path = os.path.join(tempfile.gettempdir(), "asyncring-bench-1g.dat")
    size = 1 << 30
    if not os.path.exists(path) or os.path.getsize(path) != size:
        with open(path, "wb") as f:
            block = bytes(range(256)) * 4096
            for _ in range(size // len(block)):
                f.write(block)
    with open(path, "rb") as f:  # into the page cache
        while f.read(1 << 24):
            pass
    file_c, file_raw = os.path.join(BUILD, "file_c"), os.path.join(ROOT, "bench/raw/target/release/file_raw")
    rows = []
    for depth in (1, 32):
        n = 100_000 if QUICK else 400_000
        row = compare(f"queue depth {depth}", [file_c, path, str(depth), str(n)], [file_raw, path, str(depth), str(n)])
        if PERF:
            row["sys_ours"] = per_op(syscalls, lambda k: [file_c, path, str(depth), str(k)], 50_000)
            row["sys_base"] = per_op(syscalls, lambda k: [file_raw, path, str(depth), str(k)], 50_000)
        row["alloc_ours"] = per_op(allocations, lambda k: [file_c, path, str(depth), str(k)], 50_000)
        rows.append(row)
    # The fallback backend against a plain thread pool (bench/baselines/file_pool.c), the way
    # event loops without io_uring read files.
    pool = os.path.join(BUILD, "file_pool")
    for depth in (1, 32):
        n = 50_000 if QUICK else 200_000
        fallback = ["env", "ASYNCRING_BACKEND=fallback", file_c, path, str(depth)]
        row = compare(f"fallback, queue depth {depth}", fallback + [str(n)], [pool, path, str(depth), str(n)])
        row["alloc_ours"] = per_op(allocations, lambda k: fallback + [str(k)], 50_000)
        row["fallback"] = True
        rows.append(row)
    return rows


# --- echo -------------------------------------------------------------------------------------

class Server:
    """Starts an echo server pinned to SERVER_CPU and waits for 'listening'."""

    def __init__(self, argv):
        for _ in range(5):
            self.port = str(20000 + int.from_bytes(os.urandom(2), "little") % 30000)
            self.p = subprocess.Popen(argv(self.port), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            # Read until the server says it listens (a wrapper may print build output first).
            line = self.p.stdout.readline()
            while line and "listening" not in line:
                line = self.p.stdout.readline()
            if "listening" in line:
                self.pid = server_pid(self.p.pid)
                return
            self.p.kill()
            self.p.wait()
        raise RuntimeError(f"server {argv('P')} did not start")

    def stop(self):
        self.p.send_signal(signal.SIGINT)
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def server_pid(pid):
    """The echo server's own pid under `pid`: the Swift example runs inside the toolchain's
    chroot, several processes below its wrapper (unshare, chroot, sh, swift-run)."""
    found = pid
    for _ in range(8):
        try:
            with open(f"/proc/{found}/comm") as f:
                if f.read().strip() == "EchoServer":
                    return found
            with open(f"/proc/{found}/task/{found}/children") as f:
                children = f.read().split()
        except OSError:
            return pid
        if not children:
            return pid
        found = int(children[-1])
    return pid


def loadgen(server, conns, size, seconds=ECHO_SECONDS):
    out = sh([os.path.join(BUILD, "loadgen"), "--port", server.port, "--connections", str(conns), "--size", str(size),
              "--depth", "1", "--duration", str(seconds), "--warmup", "0.3", "--cpu", CLIENT_CPU,
              "--server-pid", str(server.pid)])
    return result(out)


FALLBACK = "libasyncring on the fallback backend (same example, ASYNCRING_BACKEND=fallback)"


def echo_servers():
    servers = {
        "libasyncring (examples/c/echo_server)": lambda port: [os.path.join(BUILD, "examples/echo_server"), port, SERVER_CPU],
        "raw io_uring (liburing, same design)": lambda port: [os.path.join(BUILD, "echo_uring_raw"), port, SERVER_CPU],
        "epoll": lambda port: [os.path.join(BUILD, "echo_epoll"), port, SERVER_CPU],
        # The same C example, forced onto the fallback backend (SPEC §7: within 1.15x epoll).
        FALLBACK: lambda port: ["env", "ASYNCRING_BACKEND=fallback", os.path.join(BUILD, "examples/echo_server"), port,
                                SERVER_CPU],
    }
    for name, argv, in extra_echo_servers():
        servers[name] = argv
    return servers


def extra_echo_servers():
    """The Zig and Swift echo examples, when their toolchains have built them."""
    found = []
    zig = os.path.join(BUILD, "zig/bin/echo_server")
    if os.path.exists(zig):
        found.append(("Zig (zig/examples/echo_server.zig)", lambda port: [zig, port, SERVER_CPU]))
    swift = os.path.join(ROOT, "swift/run-echo.sh")
    if os.path.exists(swift):
        found.append(("Swift (examples/swift/EchoServer)", lambda port: [swift, port, SERVER_CPU]))
        # The same example on the plain thread-safe Ring (tasks on the global executor).
        found.append(("Swift, thread-safe Ring (EchoServer --threadsafe)",
                      lambda port: [swift, port, SERVER_CPU, "--threadsafe"]))
    return found


def bench_echo():
    """All servers run at once (idle ones cost nothing) and are measured in turn within every
    run and setting, so drift on this shared machine hits them alike."""
    servers = echo_servers()
    configs = [(c, s) for c in (1, 16, 64) for s in (64, 4096)]
    started = {}
    for name, argv in servers.items():
        try:
            started[name] = Server(argv)
        except RuntimeError as e:
            print(f"skipping {name}: {e}", file=sys.stderr)
    results = {}  # (server, conns, size) -> list of RESULT dicts
    try:
        for _ in range(ECHO_RUNS):
            for conns, size in configs:
                for name, srv in started.items():
                    if name.startswith("Zig") and (conns, size) != (16, 64):
                        continue
                    if name.startswith("Swift") and (conns, size) not in ((16, 64), (64, 64)):
                        continue  # SPEC §7: Swift's CPU per message at 16 and 64 connections
                    results.setdefault((name, conns, size), []).append(loadgen(srv, conns, size))
        if PERF:
            for name, srv in started.items():
                results[(name, "syscalls")] = echo_syscalls(srv)
    finally:
        for srv in started.values():
            srv.stop()
    return servers, configs, results


def echo_syscalls(srv):
    """Server syscalls per echoed message at 16 connections, 64 B."""
    perf = subprocess.Popen(["perf", "stat", "-e", "raw_syscalls:sys_enter", "-x,", "-p", str(srv.pid), "--", "sleep", "1.5"],
                            stderr=subprocess.PIPE, text=True)
    r = loadgen(srv, 16, 64, seconds=1.2)
    _, err = perf.communicate()
    count = int(err.strip().splitlines()[-1].split(",")[0])
    return count / max(r["msgs_per_sec"] * 1.5, 1)


# --- report -----------------------------------------------------------------------------------

def fmt_spread(m):
    return f"{m[0]:.1f} ({m[1]:.1f}–{m[2]:.1f})"


def report(nop, ts, instr, files, echo):
    servers, configs, res = echo
    out = []
    w = out.append
    w("# Benchmark results\n")
    w(f"Measured by `make bench` on {datetime.date.today().isoformat()}: {machine()}.")
    w(f"Medians of {RUNS} alternating runs (NOP: {NOP_RUNS}; echo: {ECHO_RUNS} runs of {ECHO_SECONDS:g} s per setting), "
      "min–max in parentheses. The machine is shared and noisy: read ratios, not absolute figures. "
      f"Echo servers are pinned to CPU {SERVER_CPU}, the load generator to CPU {CLIENT_CPU}.\n")
    w("## NOP round trip through the C API (queue → submit → callback)\n")
    w("Baseline: the raw `io-uring` crate doing the same loop in Rust (`bench/raw/src/bin/nop_raw.rs`). "
      "Ratio = baseline time / ours (SPEC §7 asks ≥ 0.85).\n")
    w("| batch | ours ns/op | raw ns/op | ratio | syscalls/op ours (raw) | allocations/op ours |")
    w("| --- | --- | --- | --- | --- | --- |")
    for r in nop:
        sysc = f"{r['sys_ours']:.3f} ({r['sys_base']:.3f})" if "sys_ours" in r else "n/a"
        w(f"| {r['name']} | {fmt_spread(r['ours'])} | {fmt_spread(r['base'])} | **{r['ratio']:.2f}** | {sysc} | {r['alloc_ours']:.3f} |")
    if instr:
        w("\nUser-space instructions per NOP (callgrind, by difference of two run lengths; deterministic):\n")
        w("| batch | ours | raw io-uring loop |")
        w("| --- | --- | --- |")
        for batch, ours_i, raw_i in instr:
            w(f"| {batch} | {ours_i:.0f} | {raw_i:.0f} |")
    w("\n### Thread-safe rings, NOP batch 32 (SPEC §7: at most 3x a default ring)\n")
    w("Time and CPU (every thread of the process: the kernel's SQPOLL thread, or the submitter thread) per "
      "operation; ratio = thread-safe time / default time (lower is better).\n")
    w("| ring | ns/op | CPU ns/op | default ns/op | default CPU ns/op | ratio |")
    w("| --- | --- | --- | --- | --- | --- |")
    for t in ts:
        w(f"| {t['name']} | {fmt_spread(t['ours'])} | {fmt_spread(t['cpu'])} | {fmt_spread(t['base'])} | "
          f"{fmt_spread(t['base_cpu'])} | **{t['ratio']:.2f}** |")
    w("")
    w("## 4 KiB random reads from a page-cached 1 GiB file\n")
    w("Baseline: a raw `io-uring` loop with the same block sequence (`bench/raw/src/bin/file_raw.rs`). "
      "Ratio = baseline time / ours (SPEC §7 asks ≥ 0.95).\n")
    w("| depth | ours ns/read | raw ns/read | ratio | syscalls/read ours (raw) | allocations/read ours |")
    w("| --- | --- | --- | --- | --- | --- |")
    for r in (r for r in files if not r.get("fallback")):
        sysc = f"{r['sys_ours']:.3f} ({r['sys_base']:.3f})" if "sys_ours" in r else "n/a"
        w(f"| {r['name']} | {fmt_spread(r['ours'])} | {fmt_spread(r['base'])} | **{r['ratio']:.2f}** | {sysc} | {r['alloc_ours']:.3f} |")
    w("\nThe fallback backend (`ASYNCRING_BACKEND=fallback`) on the same reads, against a plain thread pool of four "
      "workers (`bench/baselines/file_pool.c`, as event loops without io_uring read files). Page-cached data "
      "completes inline (`RWF_NOWAIT`); only a miss goes to the fallback's pool. Ratio = pool time / ours.\n")
    w("| depth | fallback ns/read | thread pool ns/read | ratio | allocations/read fallback |")
    w("| --- | --- | --- | --- | --- |")
    for r in (r for r in files if r.get("fallback")):
        w(f"| {r['name']} | {fmt_spread(r['ours'])} | {fmt_spread(r['base'])} | **{r['ratio']:.2f}** | {r['alloc_ours']:.3f} |")
    w("\n## Echo server on loopback (1 message in flight per connection)\n")
    w("Server CPU time per message (from /proc/PID/schedstat) is the figure the comparison rests on: on 2 cores "
      "the load generator saturates its own core, so messages/s alone hides differences. "
      "Ratios are the baseline's CPU/msg divided by ours (> 1: we use less CPU per message).\n")
    names = list(servers)
    ours, raw, epoll = names[0], names[1], names[2]
    w("| connections, size | ours msgs/s | ours server ns/msg | raw io_uring ns/msg | epoll ns/msg | vs raw | vs epoll |")
    w("| --- | --- | --- | --- | --- | --- | --- |")

    def med(name, c, s, key):
        vals = [r[key] for r in res.get((name, c, s), []) if r[key] >= 0]
        return statistics.median(vals) if vals else float("nan")

    for c, s in configs:
        o, rw, ep = med(ours, c, s, "server_cpu_ns_per_msg"), med(raw, c, s, "server_cpu_ns_per_msg"), med(epoll, c, s, "server_cpu_ns_per_msg")
        w(f"| {c}, {s} B | {med(ours, c, s, 'msgs_per_sec'):.0f} | {o:.0f} | {rw:.0f} | {ep:.0f} | **{rw / o:.2f}** | **{ep / o:.2f}** |")
    w("\nThroughput (msgs/s, median) and p99 latency (µs):\n")
    w("| connections, size | " + " | ".join(names[:3]) + " |")
    w("| --- | --- | --- | --- |")
    for c, s in configs:
        cells = [f"{med(n, c, s, 'msgs_per_sec'):.0f} / {med(n, c, s, 'p99_us'):.0f}" for n in names[:3]]
        w(f"| {c}, {s} B | " + " | ".join(cells) + " |")
    if PERF:
        w("\nServer syscalls per message (16 connections, 64 B): " + ", ".join(
            f"{n.split(' (')[0]} {res[(n, 'syscalls')]:.2f}" for n in names if (n, "syscalls") in res) + ".")
    if any((FALLBACK, c, s) in res for c, s in configs):
        w("\n## Fallback backend: echo against epoll\n")
        w("The C example with `ASYNCRING_BACKEND=fallback` (epoll readiness in user space, no io_uring), "
          "server CPU per message against the epoll server's in the same runs (SPEC §7: within 1.15x).\n")
        w("| connections, size | fallback msgs/s | fallback ns/msg | epoll ns/msg | CPU/msg ratio to epoll |")
        w("| --- | --- | --- | --- | --- |")
        for c, s in configs:
            fb, ep = med(FALLBACK, c, s, "server_cpu_ns_per_msg"), med(epoll, c, s, "server_cpu_ns_per_msg")
            w(f"| {c}, {s} B | {med(FALLBACK, c, s, 'msgs_per_sec'):.0f} | {fb:.0f} | {ep:.0f} | **{fb / ep:.2f}** |")
    extra = [n for n in names[3:] if (n, 16, 64) in res and n != FALLBACK]
    if extra:
        w("\n## Language wrappers: echo against the C example (64 B)\n")
        w("Server CPU per message, and its ratio to the C example's in the same runs (SPEC §7: Zig within "
          "1.05x, Swift within 1.25x at 16 and 64 connections).\n")
        w("| server | connections | msgs/s | server ns/msg | CPU/msg ratio to C | msgs/s ratio to C |")
        w("| --- | --- | --- | --- | --- | --- |")
        for n in extra:
            for c in (16, 64):
                if (n, c, 64) not in res:
                    continue
                cpu, c_cpu = med(n, c, 64, 'server_cpu_ns_per_msg'), med(ours, c, 64, 'server_cpu_ns_per_msg')
                w(f"| {n} | {c} | {med(n, c, 64, 'msgs_per_sec'):.0f} | {cpu:.0f} | **{cpu / c_cpu:.2f}** | "
                  f"{med(n, c, 64, 'msgs_per_sec') / med(ours, c, 64, 'msgs_per_sec'):.2f} |")
    return "\n".join(out) + "\n"


def main():
    t0 = time.time()
    build()
    nop, ts = bench_nop()
    instr = bench_instructions()
    files = bench_file()
    echo = bench_echo()
    text = report(nop, ts, instr, files, echo)
    text += f"\n_Total bench time: {time.time() - t0:.0f} s._\n"
    with open(os.path.join(ROOT, "bench/RESULTS.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
