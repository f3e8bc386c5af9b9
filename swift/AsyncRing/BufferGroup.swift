import CAsyncRing
import Glibc

/// A group of provided buffers (`ar_bufgroup`) for ``Ring/receive(_:group:flags:maxPending:deadline:)``:
/// the kernel picks a buffer when data arrives, so idle connections hold none.
///
/// Sharing one group among many connections is the point; size it for the data in flight
/// across all of them (each receive stream holds at most about `maxPending` buffers, see
/// ``Ring/receive(_:group:flags:maxPending:deadline:)``). Receive streams keep their group alive; the
/// group is freed when the last reference goes, before or after its ring.
public final class BufferGroup: Sendable {
    let ring: Ring
    let group: SendablePointer
    /// The number of buffers.
    public let count: Int
    /// Bytes per buffer: the largest chunk one receive completion delivers.
    public let size: Int

    /// Registers `count` buffers (a power of two, 1...32768) of `size` bytes with `ring`.
    public init(ring: Ring, count: Int = 256, size: Int = 4096) throws {
        guard count > 0, count <= 32768, size > 0, size <= Int(UInt32.max) else {
            throw AsyncRingError.invalidArgument
        }
        let created = ring.core.withOpenRing { raw -> CreatedGroup in
            var group: OpaquePointer?
            let rc = ar_bufgroup_new(raw, UInt32(count), UInt32(size), &group)
            return CreatedGroup(rc: rc, group: group.map(SendablePointer.init(raw:)))
        } ?? CreatedGroup(rc: -ESHUTDOWN, group: nil)
        guard created.rc == 0, let group = created.group else { throw AsyncRingError(code: created.rc) }
        self.ring = ring
        self.group = group
        self.count = count
        self.size = size
    }

    deinit {
        // The last reference may go inside a ring callback (a receive's final completion),
        // where the ring's lifecycle lock must not be taken: free from the delivery queue.
        let core = ring.core
        let group = self.group
        core.schedule {
            core.groupCall { ar_bufgroup_free(group.raw) }
        }
    }

    /// Hands a buffer back, from outside a callback.
    func recycle(_ id: UInt16) {
        let group = self.group
        ring.core.groupCall { _ = ar_bufgroup_recycle(group.raw, id) }
    }
}

private struct CreatedGroup: Sendable {
    var rc: Int32
    var group: SendablePointer?
}
