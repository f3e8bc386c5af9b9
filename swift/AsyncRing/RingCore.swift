import CAsyncRing
import Dispatch
import Synchronization

/// A C pointer that may cross threads. Whether it may be used on a given thread, and when
/// (not after `ar_ring_free`), is the `RingDriver`'s to decide.
struct SendablePointer: @unchecked Sendable {
    let raw: OpaquePointer
}

/// What drives a `Ring`: who may call into the C ring, from where, and how it is torn down.
/// Two drivers exist: `RingCore` (an `AR_RING_THREADSAFE` ring delivered on a private
/// `DispatchQueue`, the plain `Ring()`), and `RingExecutor` (a single-issuer ring owned by one
/// thread that is also a Swift executor).
protocol RingDriver: AnyObject, Sendable {
    /// The C ring. Use it only where the driver allows: inside a callback, or in `async` work.
    var raw: OpaquePointer { get }
    /// The executor that owns the ring, if it is owned by one: operations hop onto it.
    var owningExecutor: RingExecutor? { get }
    /// The backend the ring runs on, read once when it was created.
    var backend: Backend { get }
    /// Runs `body` with the C ring while the ring is open; `nil` once it is closing. Not from
    /// inside a callback. On an executor ring, from the ring's thread (or it waits for it).
    func withOpenRing<R: Sendable>(_ body: (OpaquePointer) -> R) -> R?
    /// Requests cancellation of operation `id`, from any thread but a callback.
    func cancel(_ id: Int64)
    /// Runs `body` later where the ring may be used (outside any callback), or, once the ring
    /// is freed, somewhere (`isClosed` then says so).
    func schedule(_ body: @escaping @Sendable () -> Void)
    /// Runs a buffer-group call (recycle, free) that must not race `ar_ring_free`. Not from
    /// inside a callback.
    func groupCall(_ body: @escaping @Sendable () -> Void)
    var isClosed: Bool { get }
    /// Starts teardown once; from any thread, including a callback.
    func beginClose()
    /// Waits until `ar_ring_free` has returned.
    func waitClosed() async
    /// The last `Ring` handle went away.
    func ringReleased()
    /// User operations in flight.
    var inflight: Int { get }
}

/// The machinery behind a `Ring`: the C ring, the delivery queue and its `DispatchSource`,
/// and the lifecycle lock that keeps every C call away from `ar_ring_free`.
///
/// Locking rules (they are what makes teardown deadlock-free):
/// - `lifecycle` is held across C calls made from arbitrary threads, so that `ar_ring_free`
///   never runs concurrently with them. Those calls may wait for the ring's own lock, which
///   the delivery thread holds while callbacks run.
/// - Callbacks (which run inside `ar_ring_run`, holding the ring's lock) therefore never take
///   `lifecycle`: they call C directly (the ring is alive while its callbacks run) and only
///   touch per-operation locks that are never held across a C call.
/// - Code running on `queue` outside a callback may call C without `lifecycle` as long as the
///   ring is not freed: `ar_ring_free` runs on `queue` too, so it cannot start meanwhile.
final class RingCore: RingDriver, @unchecked Sendable {
    enum Phase: Sendable {
        /// Operations may be queued.
        case open
        /// `close()` or `deinit` cancelled the source; `ar_ring_free` is pending or running.
        case closing
        /// `ar_ring_free` returned; the pointer is dangling.
        case closed
    }

    struct Lifecycle {
        var phase = Phase.open
        var closeWaiters: [UnsafeContinuation<Void, Never>] = []
        /// Buffer-group calls that arrived while `ar_ring_free` may be running; they run
        /// (against the orphaned group) once it has returned.
        var afterFree: [@Sendable () -> Void] = []
    }

    let ring: SendablePointer
    let backend: Backend
    let queue: DispatchQueue
    private let source: any DispatchSourceRead
    private let lifecycle = Mutex(Lifecycle())

    init(ring: OpaquePointer, label: String) {
        self.ring = SendablePointer(raw: ring)
        self.backend = Backend(ring: ring)
        self.queue = DispatchQueue(label: label)
        self.source = DispatchSource.makeReadSource(
            fileDescriptor: ar_ring_notify_fd(ring), queue: queue)
        let pointer = self.ring
        // Readable notification fd: deliver what is ready. AR_RUN_NOWAIT never blocks, and
        // on a thread-safe ring it never enters the kernel either: the ring's own submitter
        // thread does, so no dispatch worker is parked in a kernel wait and none needs to
        // outlive the operations it queued.
        source.setEventHandler {
            _ = ar_ring_run(pointer.raw, ar_run_mode(AR_RUN_NOWAIT))
        }
        // The cancel handler runs on `queue` once the event handler can no longer run, and
        // outside any callback: the one place where `ar_ring_free` is safe. It holds `self`
        // until then; libdispatch releases both handlers after it has run.
        source.setCancelHandler { self.finishClose() }
        source.activate()
    }

    var raw: OpaquePointer { ring.raw }
    var owningExecutor: RingExecutor? { nil }
    var inflight: Int { Int(withOpenRing { ar_ring_inflight($0) } ?? 0) }
    func ringReleased() { beginClose() }
    func schedule(_ body: @escaping @Sendable () -> Void) { queue.async(execute: body) }

    /// Runs `body` with the C ring while the ring is open; `nil` once it is closing.
    /// Never call this from inside a callback (see the locking rules above).
    func withOpenRing<R: Sendable>(_ body: (OpaquePointer) -> R) -> R? {
        lifecycle.withLock { state -> R? in
            guard case .open = state.phase else { return nil }
            return body(ring.raw)
        }
    }

    /// Runs a buffer-group call (recycle, free) that must not race `ar_ring_free`: now if the
    /// ring is open (the ring serialises it) or freed (the group is orphaned; the lock
    /// serialises it), after the free if one may be running. Not from inside a callback.
    func groupCall(_ body: @escaping @Sendable () -> Void) {
        lifecycle.withLock { state in
            if case .closing = state.phase {
                state.afterFree.append(body)
            } else {
                body()
            }
        }
    }

    var isClosed: Bool {
        lifecycle.withLock { state in
            if case .closed = state.phase { return true }
            return false
        }
    }

    /// Requests cancellation of operation `id`; a stale id is harmless (`-ENOENT`, ids carry
    /// a generation). Not from inside a callback: there, use `cancelInCallback`.
    func cancel(_ id: Int64) {
        _ = withOpenRing { ring in
            ar_op_cancel(ring, id, nil, nil, ignoreCompletion)
        }
    }

    /// Starts teardown once: cancels the source, whose cancel handler frees the ring.
    /// Safe from any thread, including the delivery queue and inside a callback.
    func beginClose() {
        let start = lifecycle.withLock { state -> Bool in
            guard case .open = state.phase else { return false }
            state.phase = .closing
            return true
        }
        if start { source.cancel() }
    }

    /// Waits until `ar_ring_free` has returned.
    func waitClosed() async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            let done = lifecycle.withLock { state -> Bool in
                if case .closed = state.phase { return true }
                state.closeWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// On `queue`, outside any callback: cancel what is in flight, deliver every final
    /// callback (pending continuations resume with `.canceled`), free.
    private func finishClose() {
        ar_ring_free(ring.raw)
        let (waiters, afterFree) = lifecycle.withLock { state in
            state.phase = .closed
            defer { state.closeWaiters = []; state.afterFree = [] }
            return (state.closeWaiters, state.afterFree)
        }
        for body in afterFree { groupCall(body) }
        for waiter in waiters { waiter.resume() }
    }
}

/// The callback for fire-and-forget operations (the cancels this package issues).
func ignoreCompletion(_ userdata: UnsafeMutableRawPointer?, _ completion: UnsafePointer<ar_completion>?) {}

/// `ar_op_opts` for a deadline and flags; nil when both are unset.
struct OpOptions {
    var timeoutNs: UInt64 = 0
    var flags: UInt32 = 0

    init(deadline: Duration?, flags: Int32 = 0) {
        if let deadline { timeoutNs = deadline.nanosecondsForDeadline }
        self.flags = UInt32(flags)
    }

    func with<R>(_ body: (UnsafePointer<ar_op_opts>?) -> R) -> R {
        if timeoutNs == 0 && flags == 0 { return body(nil) }
        var opts = ar_op_opts(timeout_ns: timeoutNs, flags: flags, reserved: 0)
        return withUnsafePointer(to: &opts) { body($0) }
    }
}

extension Duration {
    /// Nanoseconds, at least 1: a deadline of zero or less expires at once (0 would mean
    /// "no deadline" to the C API).
    var nanosecondsForDeadline: UInt64 {
        let (seconds, attoseconds) = components
        if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return 1 }
        let (ns, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return UInt64.max }
        return max(1, ns &+ UInt64(attoseconds / 1_000_000_000))
    }
}
