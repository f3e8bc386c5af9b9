import CAsyncRing
import Dispatch
import Glibc

/// An io_uring instance with async/await operations.
///
/// `Ring()` makes a thread-safe ring that any task may use, as described below. A server's
/// hot path wants ``RingExecutor`` instead, whose ``RingExecutor/ring`` is a `Ring` too: the
/// same operations, run by the ring's own thread as the executor of the tasks that use it.
///
/// The C ring is created with `AR_RING_THREADSAFE`: the kernel cancels an io_uring request
/// when the thread that submitted it exits, and libdispatch and Swift's cooperative pool
/// retire idle threads (after a few seconds), so a `recv` queued from a Task could otherwise
/// fail with `ECANCELED` long after it started. In that mode a thread owned by the ring does
/// every `io_uring_enter`, any thread (any Task) may queue operations, and completions are
/// delivered on a private serial `DispatchQueue` driven by a `DispatchSource` on the ring's
/// notification fd: no thread waits in the kernel for completions.
///
/// Every operation is `async throws`, and:
/// - cancelling the calling Task cancels the operation (`ar_op_cancel`) and throws
///   `CancellationError`, unless it completed first (its result is then returned);
/// - `deadline:` bounds it (`ar_op_opts.timeout_ns`): expiry throws
///   `AsyncRingError.deadlineExceeded`, which is distinct from `AsyncRingError.timedOut`, the
///   kernel's `ETIMEDOUT` (a connect or keepalive that timed out);
/// - other failures throw `AsyncRingError` with the errno.
///
/// Buffers are owned by the operation until the kernel is done with them: reads return fresh
/// `[UInt8]`, writes copy their input. Pending operations keep the ring alive; `close()` (or
/// dropping the last reference) cancels whatever is still in flight, which then throws
/// `AsyncRingError.canceled`, and frees the ring.
///
/// Where io_uring is unusable (Docker's default seccomp profile, the
/// `kernel.io_uring_disabled` sysctl, an old kernel), the ring runs on the C library's
/// fallback backend (epoll and a thread pool) with the same operations: ``backend`` says
/// which, and ``RingOptions`` refuses or forces the fallback.
public final class Ring: Sendable {
    let core: any RingDriver

    /// Creates a ring, on io_uring where it is usable and else on the fallback backend
    /// (``backend`` says which).
    /// - Parameters:
    ///   - entries: submission queue size (operations beyond it wait in the ring's backlog).
    ///   - label: the delivery queue's label.
    ///   - options: which backends the ring may run on (default: either).
    /// - Throws: `AsyncRingError`: with ``RingOptions/noFallback``, `.notPermitted` where
    ///   seccomp or a sysctl forbid io_uring and `.notSupported` on kernels older than 5.19
    ///   (``Ring/unavailableReason`` says why); `.invalidArgument` for options that cannot be
    ///   combined.
    public init(entries: UInt32 = 256, label: String = "asyncring.delivery", options: RingOptions = []) throws {
        var config = ar_ring_config()
        ar_ring_config_default(&config)
        config.sq_entries = entries
        config.flags = UInt32(AR_RING_THREADSAFE) | options.rawValue
        var raw: OpaquePointer?
        let rc = ar_ring_new(&config, &raw)
        guard rc == 0, let raw else { throw AsyncRingError(code: rc) }
        core = RingCore(ring: raw, label: label)
    }

    /// A handle onto an executor's ring (``RingExecutor/ring``).
    init(driver: any RingDriver) {
        core = driver
    }

    deinit {
        core.ringReleased()
    }

    /// The executor that owns this ring (``RingExecutor/ring``), or nil for a ring made with
    /// ``init(entries:label:options:)``. Tasks that prefer it run its operations without a hop.
    public var executor: RingExecutor? { core.owningExecutor }

    /// Cancels every operation in flight (their callers get `AsyncRingError.canceled`),
    /// waits until the kernel is done with all of them, and frees the ring. Later operations
    /// throw `AsyncRingError.shutdown`. Idempotent.
    public func close() async {
        core.beginClose()
        await core.waitClosed()
    }

    /// Which backend the ring runs on: io_uring, or the fallback where io_uring is unusable or
    /// the fallback was forced (``RingOptions/forceFallback``, `ASYNCRING_BACKEND=fallback`).
    /// Fixed for the ring's life, and still answers after ``close()``.
    public var backend: Backend { core.backend }

    /// Why io_uring is unavailable here (seccomp, sysctl, kernel), or nil when it works. A
    /// ring made without ``RingOptions/noFallback`` then runs on the fallback backend.
    public static var unavailableReason: String? {
        var probe = ar_probe()
        if ar_ring_probe(&probe) == 0 { return nil }
        return withUnsafeBytes(of: &probe.message) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
    }

    /// The C library's version, `"MAJOR.MINOR.PATCH"`.
    public static var libraryVersion: String { String(cString: ar_version()) }

    /// The number of operations queued and not finally completed (possibly stale).
    public var inflight: Int {
        core.inflight
    }

    /// Queues one single-shot operation with `start` and awaits its final completion, in the
    /// caller's isolation (so that a task on an actor of a ``RingExecutor`` never leaves it).
    @inline(__always)
    func run(
        isolation: isolated (any Actor)? = #isolation,
        keepAlive: (any AnyObject & Sendable)? = nil,
        _ start: @Sendable (OpaquePointer, UnsafeMutableRawPointer) -> Int64
    ) async throws -> Int32 {
        // On an executor's ring, an operation called from another thread hops onto it.
        if let executor = core.owningExecutor, !executor.isCurrent {
            return try await executor.runHere {
                try await PendingOperation.run(on: self, keepAlive: keepAlive, isolation: nil, start)
            }
        }
        return try await PendingOperation.run(on: self, keepAlive: keepAlive, isolation: isolation, start)
    }

    // MARK: Operations

    /// A no-op through the kernel: completes once the ring has submitted and reaped it.
    public func nop(deadline: Duration? = nil, isolation: isolated (any Actor)? = #isolation) async throws {
        let opts = OpOptions(deadline: deadline)
        _ = try await run { ring, ud in
            opts.with { ar_op_nop(ring, $0, ud, completePendingOperation) }
        }
    }

    /// Suspends for `duration` on an io_uring timer (`ar_op_timeout`).
    public func sleep(for duration: Duration, isolation: isolated (any Actor)? = #isolation) async throws {
        let ns = duration.nanosecondsForDeadline
        do {
            _ = try await run { ring, ud in
                ar_op_timeout(ring, ns, nil, ud, completePendingOperation)
            }
        } catch let error as AsyncRingError where error.code == ETIME {
            // The kernel's own word for "the timer fired", should it ever reach us.
        }
    }

    /// Reads up to `count` bytes from `fd` at `offset` (nil: the current position, as for
    /// pipes and sockets). Returns fewer bytes at end of file, none at its end.
    public func read(fd: Int32, count: Int, offset: UInt64? = nil, deadline: Duration? = nil, isolation: isolated (any Actor)? = #isolation) async throws -> [UInt8] {
        let storage = ByteStorage(count: count)
        let opts = OpOptions(deadline: deadline)
        let n = try await run(keepAlive: storage) { ring, ud in
            opts.with { ar_op_read(ring, fd, storage.pointer, count, offset ?? .max, $0, ud, completePendingOperation) }
        }
        return storage.bytes(Int(n))
    }

    /// Writes `bytes` to `fd` at `offset` (nil: the current position). Returns the number
    /// of bytes written (possibly short).
    public func write(fd: Int32, bytes: some Collection<UInt8>, offset: UInt64? = nil, deadline: Duration? = nil, isolation: isolated (any Actor)? = #isolation) async throws -> Int {
        let storage = ByteStorage(copying: bytes)
        let opts = OpOptions(deadline: deadline)
        let n = try await run(keepAlive: storage) { ring, ud in
            opts.with { ar_op_write(ring, fd, storage.pointer, storage.count, offset ?? .max, $0, ud, completePendingOperation) }
        }
        return Int(n)
    }

    /// Opens `path` (`openat(2)`), relative to `directory` (default: the working directory).
    /// Returns the new file descriptor; close it with ``close(_:deadline:)`` or `Glibc.close`.
    public func open(
        _ path: String, flags: Int32 = O_RDONLY | O_CLOEXEC, mode: mode_t = 0o644,
        relativeTo directory: Int32 = AT_FDCWD, deadline: Duration? = nil,
        isolation: isolated (any Actor)? = #isolation
    ) async throws -> Int32 {
        let opts = OpOptions(deadline: deadline)
        return try await run { ring, ud in
            // The path is copied by the C call.
            path.withCString { p in
                opts.with { ar_op_openat(ring, directory, p, flags, UInt32(mode), $0, ud, completePendingOperation) }
            }
        }
    }

    /// Closes `fd` (`close(2)` through the ring).
    public func close(_ fd: Int32, deadline: Duration? = nil, isolation: isolated (any Actor)? = #isolation) async throws {
        let opts = OpOptions(deadline: deadline)
        _ = try await run { ring, ud in
            opts.with { ar_op_close(ring, fd, $0, ud, completePendingOperation) }
        }
    }

    /// Flushes `fd` to storage: `fsync(2)`, or `fdatasync(2)` with `dataOnly`.
    public func fsync(_ fd: Int32, dataOnly: Bool = false, deadline: Duration? = nil, isolation: isolated (any Actor)? = #isolation) async throws {
        let opts = OpOptions(deadline: deadline)
        let flags = dataOnly ? UInt32(AR_FSYNC_DATASYNC) : 0
        _ = try await run { ring, ud in
            opts.with { ar_op_fsync(ring, fd, flags, $0, ud, completePendingOperation) }
        }
    }

    /// File status of `path` (`statx(2)`), relative to `directory`.
    public func stat(
        _ path: String, relativeTo directory: Int32 = AT_FDCWD, followSymlinks: Bool = true,
        deadline: Duration? = nil,
        isolation: isolated (any Actor)? = #isolation
    ) async throws -> FileStatus {
        try await statx(directory, path, flags: followSymlinks ? 0 : atSymlinkNoFollow, deadline: deadline)
    }

    /// File status of an open descriptor (`statx(2)` with `AT_EMPTY_PATH`).
    public func stat(fd: Int32, deadline: Duration? = nil, isolation: isolated (any Actor)? = #isolation) async throws -> FileStatus {
        try await statx(fd, "", flags: atEmptyPath, deadline: deadline)
    }

    private func statx(_ directory: Int32, _ path: String, flags: Int32, deadline: Duration?, isolation: isolated (any Actor)? = #isolation) async throws -> FileStatus {
        let storage = StatxStorage()
        let opts = OpOptions(deadline: deadline)
        _ = try await run(keepAlive: storage) { ring, ud in
            path.withCString { p in
                opts.with {
                    ar_op_statx(ring, directory, p, flags, UInt32(STATX_BASIC_STATS | STATX_BTIME),
                                storage.pointer, $0, ud, completePendingOperation)
                }
            }
        }
        return FileStatus(storage.pointer.pointee)
    }

    // MARK: Networking

    /// Creates a socket (`socket(2)` through the ring). Returns its descriptor.
    public func socket(
        domain: Int32 = AF_INET, type: Int32 = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
        protocol proto: Int32 = 0, deadline: Duration? = nil,
        isolation: isolated (any Actor)? = #isolation
    ) async throws -> Int32 {
        let opts = OpOptions(deadline: deadline)
        return try await run { ring, ud in
            opts.with { ar_op_socket(ring, domain, type, proto, $0, ud, completePendingOperation) }
        }
    }

    /// Connects `fd` to `address` (the address is copied at once). A connect the kernel gives
    /// up on (its SYNs went unanswered) throws `.timedOut`; `deadline:` expiring first throws
    /// `.deadlineExceeded`.
    public func connect(_ fd: Int32, to address: SocketAddress, deadline: Duration? = nil, isolation: isolated (any Actor)? = #isolation) async throws {
        let opts = OpOptions(deadline: deadline)
        _ = try await run { ring, ud in
            address.withSockaddr { sa, len in
                opts.with { ar_op_connect(ring, fd, sa, len, $0, ud, completePendingOperation) }
            }
        }
    }

    /// Accepts one connection on listening socket `fd`. Returns the connection's
    /// descriptor. For a stream of connections use ``accept(_:flags:maxPending:deadline:)``.
    public func acceptOne(_ fd: Int32, flags: Int32 = Int32(SOCK_CLOEXEC.rawValue), deadline: Duration? = nil, isolation: isolated (any Actor)? = #isolation) async throws -> Int32 {
        let opts = OpOptions(deadline: deadline)
        return try await run { ring, ud in
            opts.with { ar_op_accept(ring, fd, flags, $0, ud, completePendingOperation) }
        }
    }

    /// Sends `bytes` on `fd` (`send(2)`, `MSG_NOSIGNAL` by default: a closed peer gives
    /// `.brokenPipe`, not SIGPIPE). Returns the count sent, possibly short; see ``sendAll(_:_:flags:deadline:)``.
    public func send(_ fd: Int32, _ bytes: some Collection<UInt8>, flags: Int32 = Int32(MSG_NOSIGNAL), deadline: Duration? = nil, isolation: isolated (any Actor)? = #isolation) async throws -> Int {
        let storage = ByteStorage(copying: bytes)
        return try await send(fd, storage: storage, from: 0, flags: flags, deadline: deadline)
    }

    /// Sends all of `bytes` on `fd`, one send at a time (two sends in flight on one TCP
    /// socket could reorder bytes when the first is short).
    public func sendAll(_ fd: Int32, _ bytes: some Collection<UInt8>, flags: Int32 = Int32(MSG_NOSIGNAL), deadline: Duration? = nil, isolation: isolated (any Actor)? = #isolation) async throws {
        let storage = ByteStorage(copying: bytes)
        var sent = 0
        while sent < storage.count {
            sent += try await send(fd, storage: storage, from: sent, flags: flags, deadline: deadline)
        }
    }

    private func send(_ fd: Int32, storage: ByteStorage, from start: Int, flags: Int32, deadline: Duration?, isolation: isolated (any Actor)? = #isolation) async throws -> Int {
        let opts = OpOptions(deadline: deadline)
        let n = try await run(keepAlive: storage) { ring, ud in
            opts.with {
                ar_op_send(ring, fd, storage.pointer + start, storage.count - start, flags, $0, ud, completePendingOperation)
            }
        }
        return Int(n)
    }

    /// Receives up to `count` bytes from `fd` (`recv(2)`). Empty at end of stream.
    /// For a stream of chunks from a buffer group use ``receive(_:group:flags:maxPending:deadline:)``.
    public func recv(_ fd: Int32, count: Int, flags: Int32 = 0, deadline: Duration? = nil, isolation: isolated (any Actor)? = #isolation) async throws -> [UInt8] {
        let storage = ByteStorage(count: count)
        let opts = OpOptions(deadline: deadline)
        let n = try await run(keepAlive: storage) { ring, ud in
            opts.with { ar_op_recv(ring, fd, storage.pointer, count, flags, $0, ud, completePendingOperation) }
        }
        return storage.bytes(Int(n))
    }

    /// Shuts down part of a full-duplex connection (`shutdown(2)`): `SHUT_RD`, `SHUT_WR`, `SHUT_RDWR`.
    public func shutdown(_ fd: Int32, how: Int32, deadline: Duration? = nil, isolation: isolated (any Actor)? = #isolation) async throws {
        let opts = OpOptions(deadline: deadline)
        _ = try await run { ring, ud in
            opts.with { ar_op_shutdown(ring, fd, how, $0, ud, completePendingOperation) }
        }
    }
}

// Linux ABI values of <fcntl.h>'s AT_* flags, which Swift's Glibc module does not export
// (they are behind _GNU_SOURCE).
let atSymlinkNoFollow: Int32 = 0x100
let atEmptyPath: Int32 = 0x1000

/// Memory for `struct statx`, owned by the operation until its final callback.
final class StatxStorage: @unchecked Sendable {
    let pointer = UnsafeMutablePointer<statx>.allocate(capacity: 1)
    init() { pointer.initialize(to: statx()) }
    deinit { pointer.deallocate() }
}
