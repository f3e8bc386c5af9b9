import CAsyncRing
import Dispatch
import Glibc
import Synchronization

/// A ring that owns one long-lived thread which is also a Swift executor (`SerialExecutor`
/// and `TaskExecutor`, SE-0392 and SE-0417): the fast way to use io_uring from Swift.
///
/// The thread creates a single-issuer ring (`AR_RING_SINGLE_THREAD`: `SINGLE_ISSUER` and
/// `DEFER_TASKRUN`) and loops in `ar_ring_run`, waiting in the kernel. Tasks that prefer the
/// executor (`Task(executorPreference: executor)`, `withTaskExecutorPreference(executor)`,
/// ``run(_:)``, and the child tasks of any of them, which inherit the preference) run on that
/// thread, queue their operations into the submission queue with no lock and no system call,
/// and are resumed by their completions on the same thread: a completion's callback resumes
/// the task's continuation, the job lands in the executor's local queue, and the loop runs
/// it as soon as `ar_ring_run` returns. The operations queued meanwhile go to the kernel in
/// one `io_uring_enter`, which also waits for the next completions. The thread never exits
/// while the ring lives, so the kernel never cancels a request because its submitter left.
///
/// Work from other threads (a job of a task running elsewhere, an operation called from
/// another executor, a cancellation) arrives through `ar_ring_post`, which wakes the ring.
/// ``ring`` works from any task: an operation called off the executor hops onto it for the
/// call and back, so it costs two thread switches more than on it.
///
/// Like an event loop of SwiftNIO, an executor lives until ``shutdown()``: keep it (or its
/// ``RingExecutorGroup``) for as long as tasks may prefer it. Shutdown cancels what is in
/// flight, resumes every continuation (`AsyncRingError.canceled`), frees the ring and ends the
/// thread; jobs that still arrive afterwards run on the global concurrent executor.
public final class RingExecutor: SerialExecutor, TaskExecutor, @unchecked Sendable {
    /// Work for the ring's thread.
    enum Work {
        /// A job of a task that prefers this executor (it runs as the task executor's).
        case job(UnownedJob)
        /// A job isolated to an actor whose executor this is (its `unownedExecutor` is ours):
        /// it runs as the serial executor's.
        case actorJob(UnownedJob)
        case call(@Sendable () -> Void)
    }

    enum Phase {
        /// The thread serves: remote work is posted to the ring.
        case open
        /// `ar_ring_free` is pending or running, or the thread drains its last work: remote
        /// work is queued without a post, and the thread picks it up before it exits.
        case closing
        /// The thread has exited: jobs go to the global executor, calls run in place.
        case closed
    }

    /// State shared with other threads, under `shared`.
    struct Shared {
        var phase = Phase.open
        var closeRequested = false
        var remote: [Work] = []
        /// A post is on its way: later remote work rides along with it.
        var posted = false
        var closeWaiters: [UnsafeContinuation<Void, Never>] = []
    }

    private let shared = Mutex(Shared())

    // Touched only on the ring's thread (after `init` has returned; `init` waits for the
    // thread to set `raw` and `thread` up).
    /// The single-issuer C ring; dangling once `open` is false and `ar_ring_free` returned.
    private(set) var raw: OpaquePointer
    /// The ring may be used: false from the moment teardown begins.
    private var open = true
    /// Teardown was requested: the loop ends after the work at hand.
    private var stopping = false
    /// Work for the thread: jobs resumed by completions, and what posts brought in.
    private var local: [Work] = []
    /// The batch being run (swapped with `local`, so work queued meanwhile waits a turn).
    private var batch: [Work] = []
    private var incoming: [Work] = []
    private let entries: UInt32
    private let options: RingOptions
    /// Set by the thread before `init` returns, like `raw`; never changes afterwards.
    private var ringBackend = Backend.uring
    /// Boxes of finished single-shot operations, reused so that an operation in steady state
    /// allocates nothing.
    private var operationPool: [PendingOperation] = []
    /// The serial executor of this thread, for actors: a separate object, so that a job's
    /// `enqueue` says which of the two executors it was given to.
    private let serial = RingSerialExecutor()

    /// Creates the executor: starts its thread, which creates the ring, on io_uring where it
    /// is usable and else on the fallback backend (``backend`` says which).
    /// - Parameters:
    ///   - entries: submission queue size (operations beyond it wait in the backlog).
    ///   - options: which backends the ring may run on (default: either).
    /// - Throws: `AsyncRingError` when the ring cannot be created (with
    ///   ``RingOptions/noFallback``, `.notPermitted` where seccomp or a sysctl forbid io_uring;
    ///   ``Ring/unavailableReason`` says why).
    public init(entries: UInt32 = 256, options: RingOptions = []) throws {
        self.entries = entries
        self.options = options
        self.raw = OpaquePointer(bitPattern: 1)!  // set by the thread before `init` returns
        serial.owner = self
        let start = ThreadStart(self)
        var thread = pthread_t()
        let context = Unmanaged.passRetained(start).toOpaque()
        let rc = pthread_create(&thread, nil, ringThreadMain, context)
        guard rc == 0 else {
            Unmanaged<ThreadStart>.fromOpaque(context).release()
            shared.withLock { $0.phase = .closed }
            throw AsyncRingError(code: -rc)
        }
        pthread_detach(thread)
        start.ready.wait()
        if start.result != 0 { throw AsyncRingError(code: start.result) }
    }

    /// The ring, for operations (`executor.ring.recv(…)`): a handle onto this executor's ring,
    /// usable from any task, fastest from tasks on this executor. Closing it shuts the
    /// executor down.
    public var ring: Ring { Ring(driver: self) }

    /// Which backend the executor's ring runs on (``Ring/backend``). On the fallback,
    /// `AR_RING_SINGLE_THREAD` changes nothing and the thread waits in `epoll_wait` instead of
    /// `io_uring_enter`; the rest of the design above holds as written.
    public var backend: Backend { ringBackend }

    /// The executor whose thread is the calling thread, if any.
    public static var current: RingExecutor? {
        guard let p = pthread_getspecific(currentKey) else { return nil }
        return Unmanaged<RingExecutor>.fromOpaque(p).takeUnretainedValue()
    }

    /// Whether the calling thread is this executor's (NIO's `inEventLoop`).
    public var isCurrent: Bool {
        pthread_getspecific(currentKey) == Unmanaged.passUnretained(self).toOpaque()
    }

    /// Runs `body` on this executor, as the calling task with a preference for it (its child
    /// tasks inherit it), and returns its result; the caller then continues where it ran.
    public func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        try await runHere(body)
    }

    /// Cancels every operation in flight (their callers get `AsyncRingError.canceled`),
    /// resumes every continuation, frees the ring and ends the thread. Idempotent.
    public func shutdown() async {
        beginClose()
        await waitClosed()
    }

    // MARK: Executor

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if isCurrent {
            local.append(.job(job))
        } else {
            remote(.job(job))
        }
    }

    /// A job for an actor on this thread (from the serial executor).
    fileprivate func enqueueActorJob(_ job: UnownedJob) {
        if isCurrent {
            local.append(.actorJob(job))
        } else {
            remote(.actorJob(job))
        }
    }

    /// The serial executor of the ring's thread, for an actor's `unownedExecutor`. (It is a
    /// companion object, so that jobs given to it run isolated to it, and jobs given to the
    /// task executor do not: see `runBatch`.)
    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        serial.asUnownedSerialExecutor()
    }

    public func checkIsolated() {
        precondition(isCurrent, "not on the ring executor's thread")
    }

    // MARK: Pooled operation boxes (on the ring's thread)

    func takeOperation(ring: Ring, keepAlive: AnyObject?) -> PendingOperation? {
        guard let op = operationPool.popLast() else { return nil }
        op.reuse(ring: ring, keepAlive: keepAlive)
        return op
    }

    /// Takes back the box of an operation whose task has resumed. Nothing else holds it then:
    /// its callback released the reference it held before returning, and a task here only
    /// runs from the loop, never inside `ar_ring_run`, so the callback has returned; its
    /// cancellation handler is gone with `withTaskCancellationHandler`.
    func recycleOperation(_ op: PendingOperation) {
        // The task may have been resumed elsewhere (after shutdown); only this thread pools.
        guard isCurrent, operationPool.count < 1024 else { return }
        op.clear()
        operationPool.append(op)
    }

    // MARK: Hops

    /// Suspends the calling task and resumes it on the ring's thread. The task must prefer
    /// this executor (inside `withTaskExecutorPreference(self)`): its job then comes here.
    func hop() async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            schedule { continuation.resume() }
        }
    }

    /// Runs `body` on the ring's thread with a preference for this executor, then lets the
    /// caller go on where it ran before (a task of another executor must not keep the ring's
    /// thread busy with its own work).
    func runHere<T>(_ body: () async throws -> T) async throws -> T {
        if isCurrent {
            return try await withTaskExecutorPreference(self) { try await body() }
        }
        let result: Result<T, any Error> = await withTaskExecutorPreference(self) {
            await hop()
            do {
                return .success(try await body())
            } catch {
                return .failure(error)
            }
        }
        await Task.yield()
        return try result.get()
    }

    // MARK: The thread

    fileprivate func main(_ start: ThreadStart) {
        pthread_setspecific(currentKey, Unmanaged.passUnretained(self).toOpaque())
        var config = ar_ring_config()
        ar_ring_config_default(&config)
        config.sq_entries = entries
        config.flags = UInt32(AR_RING_SINGLE_THREAD) | options.rawValue
        var created: OpaquePointer?
        let rc = ar_ring_new(&config, &created)
        guard rc == 0, let created else {
            open = false
            shared.withLock { $0.phase = .closed }
            start.result = rc == 0 ? -EINVAL : rc
            start.ready.signal()
            return
        }
        raw = created
        ringBackend = Backend(ring: created)
        armKeepAlive()
        start.ready.signal()
        serve()
        finish()
        pthread_setspecific(currentKey, nil)
    }

    /// The loop: run the work at hand, then hand the kernel what it queued and wait for
    /// completions (or only reap them, when work is waiting).
    private func serve() {
        while true {
            runBatch()
            if stopping { return }
            let mode = local.isEmpty ? AR_RUN_ONCE : AR_RUN_NOWAIT
            let rc = ar_ring_run(raw, ar_run_mode(mode))
            if rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY {
                printRingError("ar_ring_run", rc)
            }
        }
    }

    /// Runs the jobs at hand as this task executor's. Not also isolated to the serial
    /// executor (`runSynchronously(isolatedTo:taskExecutor:)`): from a job isolated to a serial
    /// executor, the runtime must enqueue a task again to enter a nonisolated function (every
    /// operation here is one), even on the same thread, which made every operation cost a job
    /// and the loop poll the ring instead of waiting. An actor whose executor this is
    /// (`unownedExecutor`) still runs only here, one job at a time, so it stays exclusive.
    private func runBatch() {
        swap(&local, &batch)
        let task = asUnownedTaskExecutor()
        let actor = serial.asUnownedSerialExecutor()
        for work in batch {
            switch work {
            case .job(let job): job.runSynchronously(on: task)
            case .actorJob(let job): job.runSynchronously(on: actor)
            case .call(let body): body()
            }
        }
        batch.removeAll(keepingCapacity: true)
    }

    /// Teardown, on the thread: free the ring (every final callback runs, resuming what
    /// waited), run what that resumed, and close once no work is left.
    private func finish() {
        open = false
        shared.withLock { $0.phase = .closing }
        ar_ring_free(raw)
        var waiters: [UnsafeContinuation<Void, Never>] = []
        while true {
            runBatch()
            let done = shared.withLock { s -> Bool in
                if s.remote.isEmpty && local.isEmpty {
                    s.phase = .closed
                    waiters = s.closeWaiters
                    s.closeWaiters = []
                    return true
                }
                local.append(contentsOf: s.remote)
                s.remote.removeAll()
                return false
            }
            if done { break }
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Queues work from another thread, waking the ring when it is the first since the last
    /// wake-up. Returns false once the thread has exited (the work was not queued).
    @discardableResult
    private func remote(_ work: Work) -> Bool {
        let queued = shared.withLock { s -> Bool in
            switch s.phase {
            case .open:
                s.remote.append(work)
                if !s.posted {
                    s.posted = true
                    // Under the lock: teardown (which sets .closing under it) cannot have
                    // freed the ring.
                    let rc = ar_ring_post(raw, Unmanaged.passUnretained(self).toOpaque(), takeRemoteWork)
                    if rc < 0 { printRingError("ar_ring_post", rc) }
                }
                return true
            case .closing:
                s.remote.append(work)
                return true
            case .closed:
                return false
            }
        }
        if !queued {
            switch work {
            case .job(let job), .actorJob(let job): globalConcurrentExecutor.enqueue(ExecutorJob(job))
            case .call(let body): body()
            }
        }
        return queued
    }

    /// The posted function: moves remote work to the local queue (inside `ar_ring_run`).
    fileprivate func takeRemote() {
        shared.withLock { s in
            swap(&s.remote, &incoming)
            s.posted = false
        }
        local.append(contentsOf: incoming)
        incoming.removeAll(keepingCapacity: true)
    }

    /// A timer an hour long keeps one operation in flight, so that `AR_RUN_ONCE` always
    /// waits in the kernel (it returns at once when nothing is in flight); a post ends the
    /// wait, a completion too.
    private func armKeepAlive() {
        _ = ar_op_timeout(raw, 3_600_000_000_000, nil, Unmanaged.passUnretained(self).toOpaque(), keepAliveCallback)
    }

    fileprivate func keepAliveFired(_ res: Int32) {
        if res >= 0 && open && !stopping { armKeepAlive() }
    }
}

// MARK: RingDriver

extension RingExecutor: RingDriver {
    var owningExecutor: RingExecutor? { self }

    func withOpenRing<R: Sendable>(_ body: (OpaquePointer) -> R) -> R? {
        if isCurrent { return open ? body(raw) : nil }
        // Another thread: run it on the ring's thread and wait (setup calls such as a buffer
        // group's creation; operations hop instead).
        return withoutActuallyEscaping(body) { body in
            // The call holds `body` only until it has run: it must not outlive this block.
            let call = RemoteCall<R>(body)
            if remote(.call { call.run(self) }) {
                call.done.wait()
            }
            return call.value
        }
    }

    func cancel(_ id: Int64) {
        if isCurrent {
            if open { _ = ar_op_cancel(raw, id, nil, nil, ignoreCompletion) }
        } else {
            remote(.call { if self.open { _ = ar_op_cancel(self.raw, id, nil, nil, ignoreCompletion) } })
        }
    }

    func schedule(_ body: @escaping @Sendable () -> Void) {
        if isCurrent {
            local.append(.call(body))
        } else {
            remote(.call(body))
        }
    }

    func groupCall(_ body: @escaping @Sendable () -> Void) {
        // On the thread outside a callback the ring is open (it serialises the call) or freed
        // (the group is orphaned): either way the call may run now.
        if isCurrent {
            body()
        } else {
            remote(.call(body))
        }
    }

    var isClosed: Bool {
        if isCurrent { return !open }
        return shared.withLock { s in
            if case .closed = s.phase { return true }
            return false
        }
    }

    func beginClose() {
        let first = shared.withLock { s -> Bool in
            defer { s.closeRequested = true }
            return !s.closeRequested
        }
        guard first else { return }
        if isCurrent {
            stopping = true
        } else {
            remote(.call { self.stopping = true })
        }
    }

    func waitClosed() async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            let done = shared.withLock { s -> Bool in
                if case .closed = s.phase { return true }
                s.closeWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    func ringReleased() {}

    var inflight: Int {
        // Not counting the keep-alive timer. ar_ring_inflight only reads a counter; the lock
        // keeps the ring from being freed meanwhile.
        if isCurrent { return open ? max(0, Int(ar_ring_inflight(raw)) - 1) : 0 }
        return shared.withLock { s in
            guard case .open = s.phase else { return 0 }
            return max(0, Int(ar_ring_inflight(raw)) - 1)
        }
    }
}

/// The serial executor of a ``RingExecutor``'s thread.
final class RingSerialExecutor: SerialExecutor, @unchecked Sendable {
    /// Set once, before the executor is shared; the executor owns this object.
    unowned(unsafe) var owner: RingExecutor!

    func enqueue(_ job: consuming ExecutorJob) {
        owner.enqueueActorJob(UnownedJob(job))
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    func checkIsolated() {
        precondition(owner.isCurrent, "not on the ring executor's thread")
    }
}

/// One executor per CPU (or `count`), handed out round-robin by ``next()``: the way to use
/// every core, like SwiftNIO's `MultiThreadedEventLoopGroup`. A server accepts on one
/// executor and gives each connection to `group.next()` (see the EchoServer example), or
/// runs one accept loop per executor on a listener with `SO_REUSEPORT`.
public final class RingExecutorGroup: Sendable {
    /// The executors, in the order ``next()`` hands them out.
    public let executors: [RingExecutor]
    private let counter = Atomic<Int>(0)

    /// Starts `count` executors (default: one per online CPU), each with `entries` and
    /// `options` (see ``RingExecutor/init(entries:options:)``).
    public init(count: Int = RingExecutorGroup.onlineCPUs, entries: UInt32 = 256, options: RingOptions = []) throws {
        var made: [RingExecutor] = []
        do {
            for _ in 0..<max(1, count) { made.append(try RingExecutor(entries: entries, options: options)) }
        } catch {
            for executor in made { executor.beginClose() }
            throw error
        }
        executors = made
    }

    /// The next executor, round-robin.
    public func next() -> RingExecutor {
        let n = counter.wrappingAdd(1, ordering: .relaxed).oldValue
        return executors[n % executors.count]
    }

    /// Shuts every executor down (see ``RingExecutor/shutdown()``).
    public func shutdown() async {
        for executor in executors { executor.beginClose() }
        for executor in executors { await executor.waitClosed() }
    }

    /// The number of online CPUs.
    public static var onlineCPUs: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
}

// MARK: Thread plumbing

/// What the creating thread and the ring's thread share at start-up.
private final class ThreadStart: @unchecked Sendable {
    let executor: RingExecutor
    let ready = DispatchSemaphore(value: 0)
    /// ar_ring_new's result, written by the thread before `ready` is signalled.
    var result: Int32 = 0
    init(_ executor: RingExecutor) { self.executor = executor }
}

private func ringThreadMain(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    let start = Unmanaged<ThreadStart>.fromOpaque(context!).takeRetainedValue()
    // The thread holds its executor until it exits.
    let executor = start.executor
    executor.main(start)
    return nil
}

/// The thread-local key that names the executor of the calling thread.
private let currentKey: pthread_key_t = {
    var key = pthread_key_t()
    precondition(pthread_key_create(&key, nil) == 0, "pthread_key_create")
    return key
}()

private func takeRemoteWork(_ userdata: UnsafeMutableRawPointer?) {
    Unmanaged<RingExecutor>.fromOpaque(userdata!).takeUnretainedValue().takeRemote()
}

private func keepAliveCallback(_ userdata: UnsafeMutableRawPointer?, _ completion: UnsafePointer<ar_completion>?) {
    guard let userdata, let completion else { return }
    Unmanaged<RingExecutor>.fromOpaque(userdata).takeUnretainedValue().keepAliveFired(completion.pointee.res)
}

private func printRingError(_ what: String, _ rc: Int32) {
    var line = Array("AsyncRing: \(what): \(String(cString: ar_strerror(rc)))\n".utf8)
    _ = write(STDERR_FILENO, &line, line.count)
}

/// A call run on the ring's thread for a thread that waits for it.
private final class RemoteCall<R>: @unchecked Sendable {
    private var body: ((OpaquePointer) -> R)?
    var value: R?
    let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping (OpaquePointer) -> R) { self.body = body }

    /// On the ring's thread (or in place once it has exited: the ring is then closed).
    func run(_ executor: RingExecutor) {
        if let body, executor.isCurrent, !executor.isClosed { value = body(executor.raw) }
        body = nil
        done.signal()
    }
}
