import CAsyncRing
import Glibc
import Synchronization

/// One single-shot operation in flight: the continuation to resume, what the kernel may
/// still read or write (`keepAlive`), and what cancelling it needs.
///
/// It travels through C as the operation's `userdata`, retained once (`Unmanaged`), and
/// is released by its final callback: whatever happens (success, error, cancel, deadline,
/// ring teardown) the library delivers exactly one, so neither a leak nor a double resume
/// is possible, and `keepAlive` outlives the kernel's use of it.
final class PendingOperation: @unchecked Sendable {
    struct State {
        var continuation: UnsafeContinuation<Int32, any Error>?
        /// The operation id, once `ar_op_*` has returned it; 0 before.
        var id: Int64 = 0
        var cancelRequested = false
        var done = false
    }

    private(set) var ring: Ring
    /// Buffers the kernel reads or writes: released after the final callback (when this
    /// object goes, or when it goes back to its executor's pool).
    private(set) var keepAlive: AnyObject?
    private let state = Mutex(State())

    init(ring: Ring, keepAlive: AnyObject?) {
        self.ring = ring
        self.keepAlive = keepAlive
    }

    /// Makes a pooled box new again. Only its executor's thread touches pooled boxes.
    func reuse(ring: Ring, keepAlive: AnyObject?) {
        self.ring = ring
        self.keepAlive = keepAlive
        state.withLock { $0 = State() }
    }

    /// Drops what the finished operation held, before the box goes back to a pool.
    func clear() {
        keepAlive = nil
    }

    /// Task cancellation, from any thread, at any moment: before the operation was queued
    /// (it is then cancelled as soon as its id is known), while in flight, or after it
    /// completed (nothing to do; a stale id would be harmless anyway).
    func requestCancel() {
        let id = state.withLock { state -> Int64 in
            state.cancelRequested = true
            return state.done ? 0 : state.id
        }
        if id > 0 { ring.core.cancel(id) }
    }

    /// Queues the operation with `start(ring, userdata)` and suspends until its final
    /// completion. Returns `res` (>= 0); throws `CancellationError` when the Task was
    /// cancelled and the operation ended with `-ECANCELED`, else `AsyncRingError`
    /// (`.deadlineExceeded` when its deadline ended it, `.timedOut` for the kernel's `ETIMEDOUT`).
    /// A result that arrives despite a cancel request is returned: the I/O happened.
    @inline(__always)
    static func run(
        on ring: Ring, keepAlive: AnyObject? = nil, isolation: isolated (any Actor)?,
        _ start: (OpaquePointer, UnsafeMutableRawPointer) -> Int64
    ) async throws -> Int32 {
        try Task.checkCancellation()
        // On an executor's thread the box comes from its pool and goes back to it once the
        // operation has finally completed and the cancellation handler is gone (no other
        // reference is left then: the callback released the one it held).
        let pool = ring.core.owningExecutor.flatMap { $0.isCurrent ? $0 : nil }
        let op = pool?.takeOperation(ring: ring, keepAlive: keepAlive) ?? PendingOperation(ring: ring, keepAlive: keepAlive)
        defer { pool?.recycleOperation(op) }
        return try await withTaskCancellationHandler(operation: {
            try await withUnsafeThrowingContinuation(isolation: isolation) { (continuation: UnsafeContinuation<Int32, any Error>) in
                op.state.withLock { $0.continuation = continuation }
                let userdata = Unmanaged.passRetained(op).toOpaque()
                let id = ring.core.withOpenRing { start($0, userdata) } ?? -Int64(ESHUTDOWN)
                if id < 0 {
                    // Nothing was queued: no callback will come.
                    Unmanaged<PendingOperation>.fromOpaque(userdata).release()
                    op.state.withLock { $0.continuation = nil; $0.done = true }
                    continuation.resume(throwing: AsyncRingError(code: Int32(truncatingIfNeeded: id)))
                    return
                }
                let cancelNow = op.state.withLock { state -> Bool in
                    if state.done { return false }
                    state.id = id
                    return state.cancelRequested
                }
                if cancelNow { ring.core.cancel(id) }
            }
        }, onCancel: {
            op.requestCancel()
        }, isolation: isolation)
    }

    /// The final completion (from the C callback, on the delivery thread). `flags` tell a
    /// deadline (`AR_COMPLETION_DEADLINE`) from the kernel's `ETIMEDOUT`.
    fileprivate func finish(_ res: Int32, flags: UInt32) {
        let (continuation, cancelled) = state.withLock { state in
            state.done = true
            defer { state.continuation = nil }
            return (state.continuation, state.cancelRequested)
        }
        guard let continuation else { return }
        if res >= 0 {
            continuation.resume(returning: res)
        } else if res == -ECANCELED && cancelled {
            continuation.resume(throwing: CancellationError())
        } else {
            continuation.resume(throwing: AsyncRingError(result: res, completionFlags: flags))
        }
    }
}

/// `ar_op_cb` for single-shot operations: resumes the continuation and releases the box.
func completePendingOperation(_ userdata: UnsafeMutableRawPointer?, _ completion: UnsafePointer<ar_completion>?) {
    guard let userdata, let completion else { return }
    let c = completion.pointee
    // Single-shot operations get exactly one callback, the final one; be strict anyway.
    guard c.flags & UInt32(AR_COMPLETION_MORE) == 0 else { return }
    Unmanaged<PendingOperation>.fromOpaque(userdata).takeRetainedValue().finish(c.res, flags: c.flags)
}

/// Memory the kernel reads from or writes into, owned by a `PendingOperation` until the
/// final callback (the allocation never moves, unlike an Array's storage).
final class ByteStorage: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let count: Int

    init(count: Int) {
        self.count = count
        self.pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 16)
    }

    init(copying bytes: some Collection<UInt8>) {
        self.count = bytes.count
        self.pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 16)
        let target = UnsafeMutableRawBufferPointer(start: pointer, count: count)
        target.copyBytes(from: bytes)
    }

    func bytes(_ n: Int) -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: pointer, count: min(n, count)))
    }

    deinit { pointer.deallocate() }
}
