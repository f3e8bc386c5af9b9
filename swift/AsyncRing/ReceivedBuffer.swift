import CAsyncRing
import Glibc

/// Bytes the kernel received into a provided buffer of a ``BufferGroup``, lent to you: no
/// copy was made. The buffer goes back to its group when this value is destroyed (at the
/// end of its scope, or by ``release()``), so the group can fill it again; a lent buffer you
/// keep is one the kernel cannot use, so keep it only as long as you need it.
///
/// It can be sent as it is: `try await ring.sendAll(fd, buffer)` sends from the provided
/// buffer itself and gives it back afterwards (the echo server's whole path, with no copy).
///
/// Noncopyable, so that exactly one owner gives the buffer back, once.
public struct ReceivedBuffer: ~Copyable, @unchecked Sendable {
    let pointer: UnsafeRawPointer
    /// The number of bytes received (at least 1).
    public let count: Int
    let id: UInt16
    let group: BufferGroup

    init(_ lent: LentBuffer, group: BufferGroup) {
        pointer = lent.pointer
        count = lent.count
        id = lent.id
        self.group = group
    }

    deinit {
        group.recycle(id)
    }

    /// Gives the buffer back to its group now.
    public consuming func release() {}

    /// Calls `body` with the received bytes; they are valid only inside `body`.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// A copy of the received bytes.
    public var bytes: [UInt8] {
        Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    #if compiler(>=6.2)
    /// Calls `body` with the received bytes as a `Span`, which cannot escape it (Swift 6.2).
    public func withSpan<R, E: Error>(_ body: (Span<UInt8>) throws(E) -> R) throws(E) -> R {
        let bytes = UnsafeBufferPointer(start: pointer.assumingMemoryBound(to: UInt8.self), count: count)
        return try body(bytes.span)
    }
    #endif
}

/// The chunks a connected socket receives, lent from their provided buffers: `next()`
/// returns a ``ReceivedBuffer`` (nil at the end of the stream). Like
/// ``Ring/receive(_:group:flags:maxPending:deadline:)``, but nothing is copied.
/// `ReceivedBuffer` is noncopyable, and the elements of an `AsyncSequence` cannot be (yet),
/// hence `while let chunk = try await chunks.next() { … }` instead of `for try await`.
///
/// The receive starts when the stream is made and stops when the last copy of it goes away
/// (or its Task is cancelled). Back-pressure as for `receive`: past `maxPending` chunks not yet
/// taken, the receive pauses; buffers you hold count against the group, not against it.
public struct ReceivedBufferStream: Sendable {
    let handle: IteratorHandle<ReceiveDriver>

    /// The next chunk; nil at end of stream. Throws as ``ReceiveSequence`` does.
    public func next(isolation: isolated (any Actor)? = #isolation) async throws -> ReceivedBuffer? {
        guard let lent = try await handle.stream.next(isolation: isolation) else { return nil }
        return ReceivedBuffer(lent, group: handle.stream.driver.group)
    }
}

extension Ring {
    /// The data connected socket `fd` receives, as lent buffers (no copy): see
    /// ``ReceivedBufferStream``. Parameters as for ``receive(_:group:flags:maxPending:deadline:)``.
    public func receiveBuffers(
        _ fd: Int32, group: BufferGroup, flags: Int32 = 0, maxPending: Int = 16, deadline: Duration? = nil
    ) -> ReceivedBufferStream {
        let driver = ReceiveDriver(fd: fd, group: group, flags: flags)
        return ReceivedBufferStream(
            handle: IteratorHandle(Multishot(ring: self, driver: driver, limit: maxPending, deadline: deadline)))
    }

    /// Sends a received buffer's bytes from the buffer itself (`send(2)`, `MSG_NOSIGNAL` by
    /// default). Returns the count sent, possibly short.
    public func send(
        _ fd: Int32, _ buffer: borrowing ReceivedBuffer, flags: Int32 = Int32(MSG_NOSIGNAL), deadline: Duration? = nil,
        isolation: isolated (any Actor)? = #isolation
    ) async throws -> Int {
        try await send(fd, buffer.pointer, buffer.count, flags: flags, deadline: deadline, isolation: isolation)
    }

    /// Sends all of a received buffer's bytes from the buffer itself, one send at a time, and
    /// gives the buffer back to its group (also when it throws).
    public func sendAll(
        _ fd: Int32, _ buffer: consuming ReceivedBuffer, flags: Int32 = Int32(MSG_NOSIGNAL), deadline: Duration? = nil,
        isolation: isolated (any Actor)? = #isolation
    ) async throws {
        let pointer = buffer.pointer
        let count = buffer.count
        var sent = 0
        while sent < count {
            sent += try await send(fd, pointer + sent, count - sent, flags: flags, deadline: deadline, isolation: isolation)
        }
        buffer.release()
    }

    /// A send from memory that the caller keeps alive until it returns (the kernel reads it
    /// until the final completion, which this awaits even when the Task is cancelled).
    @inline(__always)
    private func send(
        _ fd: Int32, _ pointer: UnsafeRawPointer, _ count: Int, flags: Int32, deadline: Duration?,
        isolation: isolated (any Actor)?
    ) async throws -> Int {
        let opts = OpOptions(deadline: deadline)
        let bytes = SendablePointerBytes(pointer: pointer)
        let n = try await run { ring, ud in
            opts.with { ar_op_send(ring, fd, bytes.pointer, count, flags, $0, ud, completePendingOperation) }
        }
        return Int(n)
    }
}

/// A pointer to bytes that stay alive while an operation reads them.
private struct SendablePointerBytes: @unchecked Sendable {
    let pointer: UnsafeRawPointer
}
