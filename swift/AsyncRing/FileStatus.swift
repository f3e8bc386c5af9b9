import CAsyncRing

/// What `statx(2)` says about a file: the subset of `struct statx` most programs need.
public struct FileStatus: Sendable, Hashable {
    /// A timestamp: seconds and nanoseconds since the Unix epoch.
    public struct Time: Sendable, Hashable, Comparable {
        public var seconds: Int64
        public var nanoseconds: UInt32

        public static func < (a: Time, b: Time) -> Bool {
            (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds)
        }
    }

    /// Size in bytes.
    public var size: UInt64
    /// File type and permission bits (`S_IFMT`, `0o7777`).
    public var mode: UInt32
    public var inode: UInt64
    public var linkCount: UInt32
    public var uid: UInt32
    public var gid: UInt32
    /// Preferred I/O block size.
    public var blockSize: UInt32
    /// 512-byte blocks allocated.
    public var blocks: UInt64
    public var accessTime: Time
    public var modificationTime: Time
    public var statusChangeTime: Time
    /// Creation time, when the filesystem records it.
    public var birthTime: Time?

    public var permissions: UInt32 { mode & 0o7777 }
    public var isRegularFile: Bool { mode & 0o170000 == 0o100000 }
    public var isDirectory: Bool { mode & 0o170000 == 0o040000 }
    public var isSymbolicLink: Bool { mode & 0o170000 == 0o120000 }

    init(_ s: statx) {
        func time(_ t: statx_timestamp) -> Time { Time(seconds: t.tv_sec, nanoseconds: t.tv_nsec) }
        size = s.stx_size
        mode = UInt32(s.stx_mode)
        inode = s.stx_ino
        linkCount = s.stx_nlink
        uid = s.stx_uid
        gid = s.stx_gid
        blockSize = s.stx_blksize
        blocks = s.stx_blocks
        accessTime = time(s.stx_atime)
        modificationTime = time(s.stx_mtime)
        statusChangeTime = time(s.stx_ctime)
        birthTime = s.stx_mask & UInt32(STATX_BTIME) != 0 ? time(s.stx_btime) : nil
    }
}
