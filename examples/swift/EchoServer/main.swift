// EchoServer: a TCP echo server on AsyncRing, structured concurrency all the way.
//
//   EchoServer PORT [CPU] [--threadsafe]
//       listens on 127.0.0.1:PORT (pinned to CPU if given), prints "listening on
//       127.0.0.1:PORT" when ready; SIGINT or SIGTERM stops it cleanly (exit status 0).
//       --threadsafe serves from the plain `Ring()` (a thread-safe ring delivered on a
//       DispatchQueue, tasks on the global executor) instead of a RingExecutor, for comparison.
//
// The server task runs on a RingExecutor: the ring's own thread is the executor of the task
// and of every child task, so an operation is queued with no lock and no wake-up, and its
// completion resumes the task on the same thread. One multishot accept
// (`for try await client in ring.accept(listener)`), and per client a child task with one
// multishot receive into a buffer group shared by all connections; each chunk is lent from
// its provided buffer (`ring.receiveBuffers`) and sent back from it (`ring.sendAll`), with no
// copy, before the next is taken, so bytes never reorder. Cancelling the server task (on a
// signal) cancels the accept and every receive; then the executor shuts down.
import AsyncRing
import Dispatch
import Glibc

func printError(_ message: String) {
    var line = Array("EchoServer: \(message)\n".utf8)
    _ = write(STDERR_FILENO, &line, line.count)
}

func fail(_ message: String) -> Never {
    printError(message)
    exit(1)
}

/// Pins the process to one CPU. sched_setaffinity(2) is a GNU extension that Swift's Glibc
/// module does not export, so it is looked up at run time.
func pin(toCPU cpu: Int) {
    typealias SetAffinity = @convention(c) (pid_t, Int, UnsafeRawPointer) -> Int32
    guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "sched_setaffinity") else { fail("no sched_setaffinity") }
    var set = [UInt8](repeating: 0, count: 128)  // a cpu_set_t: 1024 bits
    guard cpu >= 0, cpu < set.count * 8 else { fail("bad CPU \(cpu)") }
    set[cpu / 8] |= UInt8(1 << (cpu % 8))
    if unsafeBitCast(symbol, to: SetAffinity.self)(0, set.count, set) != 0 { perror("sched_setaffinity") }
}

var arguments = CommandLine.arguments
let threadSafe = arguments.contains("--threadsafe")
arguments.removeAll { $0 == "--threadsafe" }
guard arguments.count >= 2, let port = UInt16(arguments[1]) else {
    printError("usage: EchoServer PORT [CPU] [--threadsafe]")
    exit(2)
}
if arguments.count > 2 {
    guard let cpu = Int(arguments[2]) else { fail("bad CPU \(arguments[2])") }
    pin(toCPU: cpu)
}

// Signals arrive through a DispatchSource, so the default actions must be off.
signal(SIGPIPE, SIG_IGN)
signal(SIGINT, SIG_IGN)
signal(SIGTERM, SIG_IGN)

let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
var one: Int32 = 1
setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
let bound = SocketAddress.loopback(port: port).withSockaddr { bind(listener, $0, $1) == 0 }
guard listener >= 0, bound, listen(listener, 4096) == 0 else { fail("bind/listen: \(AsyncRingError(code: errno))") }

/// The echo loop of one client: lent buffers sent back as they are.
@Sendable func echo(_ client: Int32, ring: Ring, group: BufferGroup) async {
    defer { close(client) }
    let chunks = ring.receiveBuffers(client, group: group)
    do {
        while let chunk = try await chunks.next() {
            try await ring.sendAll(client, chunk)
        }
    } catch {
        // A reset peer, or the server stopping: either way this client is done.
    }
}

let executor: RingExecutor?
let ring: Ring
do {
    if threadSafe {
        executor = nil
        ring = try Ring(entries: 1024)
    } else {
        executor = try RingExecutor(entries: 1024)
        ring = executor!.ring
    }
} catch {
    fail("\(error) (\(Ring.unavailableReason ?? "io_uring is available"))")
}

// With an executor, the server task and (by inheritance) every client task run on the ring's
// thread; with nil, on the global executor.
let server = Task(executorPreference: executor) {
    let group = try BufferGroup(ring: ring, count: 4096, size: 4096)
    try await withThrowingDiscardingTaskGroup { clients in
        for try await client in ring.accept(listener) {
            clients.addTask { await echo(client, ring: ring, group: group) }
        }
    }
}

let signalQueue = DispatchQueue(label: "EchoServer.signals")
let signalSources = [SIGINT, SIGTERM].map { number in
    let source = DispatchSource.makeSignalSource(signal: number, queue: signalQueue)
    // @Sendable: nonisolated, so Swift 6.2 does not check for the main actor on this queue.
    source.setEventHandler { @Sendable in server.cancel() }
    source.activate()
    return source
}

print("listening on 127.0.0.1:\(port)")
fflush(nil)  // all streams: a pipe reader must see the line now

var status: Int32 = 0
do {
    try await server.value
} catch is CancellationError {
    // Stopped by a signal: the normal way out.
} catch {
    printError("\(error)")
    status = 1
}
for source in signalSources { source.cancel() }
await ring.close()
close(listener)
exit(status)
