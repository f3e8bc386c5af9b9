import CAsyncRing
import Glibc
import Synchronization

/// How one kind of multishot operation is queued and what its completions carry.
protocol MultishotDriver: Sendable {
    associatedtype Element: Sendable
    /// Queues the operation with a deadline of `timeoutNs` (0: none). Called on the delivery
    /// queue or inside a callback, where the ring is alive.
    func arm(_ ring: OpaquePointer, _ userdata: UnsafeMutableRawPointer, timeoutNs: UInt64) -> Int64
    /// The element a completion carries, if any. Inside a callback.
    func element(from completion: ar_completion) -> Element?
    /// Whether a final completion with this result ends the stream (false: re-arm, as for a
    /// multishot the kernel ended for its own reasons after a success).
    func endsStream(_ res: Int32) -> Bool
    /// Gives back an element nobody will consume.
    func discard(_ element: Element, inCallback: Bool)
}

/// The object a multishot operation's `userdata` points to (non-generic, for the C callback).
class CompletionTarget: @unchecked Sendable {
    func deliver(_ completion: ar_completion) {}
}

/// `ar_op_cb` for multishot operations: each completion goes to the target; the final one
/// also releases the reference the operation held.
func deliverMultishot(_ userdata: UnsafeMutableRawPointer?, _ completion: UnsafePointer<ar_completion>?) {
    guard let userdata, let completion else { return }
    let c = completion.pointee
    let target = Unmanaged<CompletionTarget>.fromOpaque(userdata)
    target.takeUnretainedValue().deliver(c)
    if c.flags & UInt32(AR_COMPLETION_MORE) == 0 { target.release() }
}

/// A multishot operation consumed by pulling: completions are buffered here until the
/// consumer's `next()` takes them, and at most about `limit` are: past that the operation is
/// cancelled (paused) and re-armed when the consumer has caught up, so the data (or the
/// connections) wait in the kernel, where TCP flow control and the listen backlog push back.
///
/// Everything the C callback does happens on the delivery thread inside `ar_ring_run`;
/// arming happens there too (or on the delivery queue), so an armed operation's id is always
/// recorded before any other thread can look for it.
final class Multishot<Driver: MultishotDriver>: CompletionTarget, @unchecked Sendable {
    typealias Element = Driver.Element

    private enum Ready {
        case element(Element)
        case end
        case failure(any Error)
        case wait
    }

    private struct State {
        var buffer: [Element] = []
        var head = 0
        var waiter: UnsafeContinuation<Element?, any Error>?
        /// The armed operation's id; 0 while none is.
        var id: Int64 = 0
        /// An operation is queued, or about to be, and its final completion is still due.
        var armed = false
        /// We cancelled the operation for back-pressure; its final completion pauses.
        var pausing = false
        /// Paused for back-pressure: `next()` re-arms once the buffer has drained.
        var paused = false
        var finished = false
        var failure: (any Error)?
        /// The consumer is gone (iterator dropped) or its Task was cancelled.
        var cancelled = false

        var pending: Int { buffer.count - head }

        mutating func pop() -> Element {
            let element = buffer[head]
            head += 1
            if head == buffer.count {
                buffer.removeAll(keepingCapacity: true)
                head = 0
            }
            return element
        }

        mutating func takeReady(limit: Int, unpause: inout Bool) -> Ready {
            if pending > 0 {
                let element = pop()
                if paused && pending <= limit / 2 {
                    paused = false
                    armed = true
                    unpause = true
                }
                return .element(element)
            }
            if finished {
                if let failure {
                    self.failure = nil
                    return .failure(failure)
                }
                return .end
            }
            return .wait
        }
    }

    let ring: Ring
    let driver: Driver
    let limit: Int
    /// When the stream's deadline expires, if it has one. Every operation armed for it (the
    /// first, and those re-armed after a pause) gets the time left, so the deadline holds for
    /// the whole stream; the C library keeps it across the re-arms it makes itself.
    let expiry: ContinuousClock.Instant?
    private let state = Mutex(State())

    init(ring: Ring, driver: Driver, limit: Int, deadline: Duration?) {
        self.ring = ring
        self.driver = driver
        self.limit = max(1, limit)
        // Clamped (to some 30,000 years) so that the instant cannot overflow.
        self.expiry = deadline.map { ContinuousClock.now.advanced(by: min($0, .seconds(Int64(1) << 40))) }
    }

    /// Arms the operation from the delivery queue.
    func start() {
        state.withLock { $0.armed = true }
        armFromQueue()
    }

    private func armFromQueue() {
        let core = ring.core
        core.schedule {
            // On the delivery queue ar_ring_free cannot be running, but it may have run.
            if core.isClosed {
                self.failArm(AsyncRingError.shutdown)
            } else {
                self.arm()
            }
        }
    }

    /// On the delivery queue or inside a callback: the ring is alive.
    private func arm() {
        let skip = state.withLock { s -> Bool in
            if s.cancelled || s.finished {
                s.armed = false
                return true
            }
            return false
        }
        if skip { return }
        var timeoutNs: UInt64 = 0
        if let expiry {
            let left = ContinuousClock.now.duration(to: expiry)
            // Expired while paused (nothing was armed to notice): end as the C deadline would.
            guard left > .zero else { return failArm(AsyncRingError.deadlineExceeded) }
            timeoutNs = left.nanosecondsForDeadline
        }
        let raw = ring.core.raw
        let userdata = Unmanaged.passRetained(self as CompletionTarget).toOpaque()
        let id = driver.arm(raw, userdata, timeoutNs: timeoutNs)
        if id < 0 {
            Unmanaged<CompletionTarget>.fromOpaque(userdata).release()
            failArm(AsyncRingError(code: Int32(truncatingIfNeeded: id)))
            return
        }
        let cancelNow = state.withLock { s -> Bool in
            s.id = id
            return s.cancelled
        }
        // Cancelled while being armed: nobody else could see the id yet.
        if cancelNow { _ = ar_op_cancel(raw, id, nil, nil, ignoreCompletion) }
    }

    private func failArm(_ error: any Error) {
        let waiter = state.withLock { s -> UnsafeContinuation<Element?, any Error>? in
            s.armed = false
            s.finished = true
            guard let waiter = s.waiter else {
                s.failure = error
                return nil
            }
            s.waiter = nil
            return waiter
        }
        waiter?.resume(throwing: error)
    }

    override func deliver(_ c: ar_completion) {
        let final = c.flags & UInt32(AR_COMPLETION_MORE) == 0
        let element = driver.element(from: c)
        var resume: (UnsafeContinuation<Element?, any Error>, Result<Element?, any Error>)?
        var discard: Element?
        var pauseID: Int64 = 0
        var rearm = false
        state.withLock { s in
            if let element {
                if s.cancelled {
                    discard = element
                } else if let waiter = s.waiter {
                    s.waiter = nil
                    resume = (waiter, .success(element))
                } else {
                    s.buffer.append(element)
                }
            }
            if !final {
                if !s.cancelled && !s.pausing && s.pending >= limit {
                    s.pausing = true
                    pauseID = s.id
                }
                return
            }
            s.id = 0
            let wasPausing = s.pausing
            s.pausing = false
            if s.cancelled {
                s.armed = false
                s.finished = true
            } else if wasPausing && c.res == -ECANCELED {
                if s.pending > 0 {
                    s.armed = false
                    s.paused = true
                } else {
                    rearm = true  // the consumer caught up meanwhile
                }
            } else if !driver.endsStream(c.res) {
                rearm = true
            } else {
                s.armed = false
                s.finished = true
                // A deadline (AR_COMPLETION_DEADLINE) ends it with .deadlineExceeded.
                let failure: (any Error)? = c.res < 0 ? AsyncRingError(result: c.res, completionFlags: c.flags) : nil
                if resume == nil, let waiter = s.waiter {
                    s.waiter = nil
                    resume = (waiter, failure.map { .failure($0) } ?? .success(nil))
                } else {
                    s.failure = failure
                }
            }
        }
        if let (waiter, result) = resume { waiter.resume(with: result) }
        if let discard { driver.discard(discard, inCallback: true) }
        if pauseID > 0 { _ = ar_op_cancel(ring.core.raw, pauseID, nil, nil, ignoreCompletion) }
        if rearm { arm() }
    }

    /// The next element, nil at the end. Cancelling the calling Task cancels the operation
    /// and throws `CancellationError`.
    @inline(__always)
    func next(isolation: isolated (any Actor)?) async throws -> Element? {
        if Task.isCancelled {
            cancel()
            throw CancellationError()
        }
        var unpause = false
        let ready = state.withLock { $0.takeReady(limit: limit, unpause: &unpause) }
        if unpause { armFromQueue() }
        switch ready {
        case .element(let element): return element
        case .end: return nil
        case .failure(let error): throw error
        case .wait: break
        }
        return try await withTaskCancellationHandler(operation: {
            try await withUnsafeThrowingContinuation(isolation: isolation) { (continuation: UnsafeContinuation<Element?, any Error>) in
                var unpause = false
                let ready = state.withLock { s -> Ready in
                    let ready = s.takeReady(limit: limit, unpause: &unpause)
                    if case .wait = ready {
                        if s.cancelled { return .failure(CancellationError()) }
                        s.waiter = continuation
                    }
                    return ready
                }
                if unpause { armFromQueue() }
                switch ready {
                case .element(let element): continuation.resume(returning: element)
                case .end: continuation.resume(returning: nil)
                case .failure(let error): continuation.resume(throwing: error)
                case .wait: break
                }
            }
        }, onCancel: {
            self.cancel()
        }, isolation: isolation)
    }

    /// Stops the stream: cancels the operation, gives back what was buffered, and makes a
    /// waiting `next()` throw `CancellationError`. From any thread but a callback.
    func cancel() {
        let (waiter, leftovers, id) = state.withLock { s -> (UnsafeContinuation<Element?, any Error>?, [Element], Int64) in
            if s.cancelled { return (nil, [], 0) }
            s.cancelled = true
            let waiter = s.waiter
            s.waiter = nil
            let leftovers = Array(s.buffer[s.head...])
            s.buffer = []
            s.head = 0
            if !s.armed { s.finished = true }
            return (waiter, leftovers, s.armed ? s.id : 0)
        }
        waiter?.resume(throwing: CancellationError())
        for element in leftovers { driver.discard(element, inCallback: false) }
        if id > 0 { ring.core.cancel(id) }
    }
}

/// Owned by an iterator (and its copies): when the last one goes, the stream stops.
final class IteratorHandle<Driver: MultishotDriver>: Sendable {
    let stream: Multishot<Driver>

    init(_ stream: Multishot<Driver>) {
        self.stream = stream
        stream.start()
    }

    deinit { stream.cancel() }
}

// MARK: Accept

struct AcceptDriver: MultishotDriver {
    let fd: Int32
    let flags: Int32

    func arm(_ ring: OpaquePointer, _ userdata: UnsafeMutableRawPointer, timeoutNs: UInt64) -> Int64 {
        var opts = ar_op_opts(timeout_ns: timeoutNs, flags: 0, reserved: 0)
        return ar_op_accept_multishot(ring, fd, flags, &opts, userdata, deliverMultishot)
    }

    func element(from c: ar_completion) -> Int32? { c.res >= 0 ? c.res : nil }

    func endsStream(_ res: Int32) -> Bool { res < 0 }

    func discard(_ fd: Int32, inCallback: Bool) { _ = Glibc.close(fd) }
}

/// The connections a listening socket accepts (one multishot accept), as client fds.
/// Each iteration arms its own operation; leaving the loop (or cancelling its Task) cancels it.
/// Accepted fds are the consumer's to close. With a deadline the stream throws
/// `AsyncRingError.deadlineExceeded` once it expires (after the connections already accepted).
public struct AcceptSequence: AsyncSequence, Sendable {
    public typealias Element = Int32
    let ring: Ring
    let driver: AcceptDriver
    let maxPending: Int
    let deadline: Duration?

    public func makeAsyncIterator() -> Iterator {
        Iterator(handle: IteratorHandle(Multishot(ring: ring, driver: driver, limit: maxPending, deadline: deadline)))
    }

    public struct Iterator: AsyncIteratorProtocol, Sendable {
        let handle: IteratorHandle<AcceptDriver>

        public mutating func next() async throws -> Int32? {
            try await handle.stream.next(isolation: nil)
        }

        /// `next()` in the caller's isolation: a loop on an actor of a ``RingExecutor`` stays on it.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> Int32? {
            try await handle.stream.next(isolation: actor)
        }
    }
}

// MARK: Receive

/// A buffer the kernel filled, lent to us until recycled.
struct LentBuffer: @unchecked Sendable {
    let pointer: UnsafeRawPointer
    let count: Int
    let id: UInt16
}

struct ReceiveDriver: MultishotDriver {
    let fd: Int32
    let group: BufferGroup
    let flags: Int32

    func arm(_ ring: OpaquePointer, _ userdata: UnsafeMutableRawPointer, timeoutNs: UInt64) -> Int64 {
        // AR_OP_REARM: when the group runs dry the receive is parked, not ended with ENOBUFS
        // (its deadline still runs while it is parked).
        var opts = ar_op_opts(timeout_ns: timeoutNs, flags: UInt32(AR_OP_REARM), reserved: 0)
        return ar_op_recv_multishot(ring, fd, group.group.raw, flags, &opts, userdata, deliverMultishot)
    }

    func element(from c: ar_completion) -> LentBuffer? {
        guard c.flags & UInt32(AR_COMPLETION_BUFFER) != 0, let buf = c.buf else { return nil }
        if c.res <= 0 {
            _ = ar_bufgroup_recycle(group.group.raw, c.buf_id)
            return nil
        }
        return LentBuffer(pointer: UnsafeRawPointer(buf), count: Int(c.res), id: c.buf_id)
    }

    /// A final completion with data is a multishot the kernel ended on its own: re-arm.
    func endsStream(_ res: Int32) -> Bool { res <= 0 }

    func discard(_ buffer: LentBuffer, inCallback: Bool) {
        if inCallback {
            _ = ar_bufgroup_recycle(group.group.raw, buffer.id)
        } else {
            group.recycle(buffer.id)
        }
    }
}

/// The chunks a connected socket receives (one multishot receive into a buffer group), each
/// copied out of its provided buffer, which goes straight back to the group. Ends (nil) at
/// end of stream; throws on errors such as `.connectionReset`, and with a deadline
/// `.deadlineExceeded` once it expires (after the chunks already received; a kernel
/// `ETIMEDOUT`, such as a keepalive giving up, is `.timedOut`).
///
/// Back-pressure is pull-based: chunks wait in their provided buffers until `next()` copies
/// them out, and when `maxPending` are waiting the receive is paused (cancelled; the data
/// stays in the socket, whose window then closes) and re-armed once half of them have been
/// consumed. A group that runs dry parks the receive instead of ending it (`AR_OP_REARM`).
public struct ReceiveSequence: AsyncSequence, Sendable {
    public typealias Element = [UInt8]
    let ring: Ring
    let driver: ReceiveDriver
    let maxPending: Int
    let deadline: Duration?

    public func makeAsyncIterator() -> Iterator {
        Iterator(handle: IteratorHandle(Multishot(ring: ring, driver: driver, limit: maxPending, deadline: deadline)))
    }

    public struct Iterator: AsyncIteratorProtocol, Sendable {
        let handle: IteratorHandle<ReceiveDriver>

        public mutating func next() async throws -> [UInt8]? {
            try await next(isolation: nil)
        }

        /// `next()` in the caller's isolation: a loop on an actor of a ``RingExecutor`` stays on it.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> [UInt8]? {
            guard let lent = try await handle.stream.next(isolation: actor) else { return nil }
            let bytes = Array(UnsafeRawBufferPointer(start: lent.pointer, count: lent.count))
            handle.stream.driver.group.recycle(lent.id)
            return bytes
        }
    }
}

extension Ring {
    /// The connections listening socket `fd` accepts, as an `AsyncSequence` of client fds:
    /// `for try await client in ring.accept(listener) { … }`.
    /// - Parameters:
    ///   - flags: `accept4(2)` flags for the new fds (`SOCK_CLOEXEC` by default).
    ///   - maxPending: accepted connections buffered before accepting pauses (the rest wait
    ///     in the listen backlog).
    ///   - deadline: how long the stream may run, counted from the start of the iteration
    ///     (`makeAsyncIterator`); it then throws `AsyncRingError.deadlineExceeded`. Nil: no limit.
    public func accept(
        _ fd: Int32, flags: Int32 = Int32(SOCK_CLOEXEC.rawValue), maxPending: Int = 64, deadline: Duration? = nil
    ) -> AcceptSequence {
        AcceptSequence(ring: self, driver: AcceptDriver(fd: fd, flags: flags), maxPending: maxPending, deadline: deadline)
    }

    /// The data connected socket `fd` receives, as an `AsyncSequence` of chunks (at most
    /// `group.size` bytes each): `for try await chunk in ring.receive(socket, group: group) { … }`.
    /// - Parameters:
    ///   - group: the buffer group the kernel receives into (it must belong to this ring).
    ///   - flags: `recv(2)` flags.
    ///   - maxPending: chunks waiting for the consumer before receiving pauses.
    ///   - deadline: how long the stream may run, counted from the start of the iteration
    ///     (`makeAsyncIterator`); it then throws `AsyncRingError.deadlineExceeded`. Nil: no limit.
    public func receive(
        _ fd: Int32, group: BufferGroup, flags: Int32 = 0, maxPending: Int = 16, deadline: Duration? = nil
    ) -> ReceiveSequence {
        ReceiveSequence(
            ring: self, driver: ReceiveDriver(fd: fd, group: group, flags: flags), maxPending: maxPending, deadline: deadline)
    }
}
