import CAsyncRing

/// What a ring runs on (``Ring/backend``, ``RingExecutor/backend``).
///
/// Where io_uring is unusable (a seccomp filter such as Docker's default profile, the
/// `kernel.io_uring_disabled` sysctl, a kernel before 5.19), the C library runs a ring on its
/// fallback backend instead of failing, unless ``RingOptions/noFallback`` says otherwise. The
/// environment variable `ASYNCRING_BACKEND=fallback` forces the fallback for every ring made
/// without ``RingOptions/noFallback``, as ``RingOptions/forceFallback`` does for one ring.
public enum Backend: Sendable, Hashable {
    /// io_uring (`AR_BACKEND_URING`).
    case uring
    /// The fallback backend (`AR_BACKEND_FALLBACK`): epoll readiness, a thread pool for files
    /// and other blocking calls, user-space timers. Same operations, results and guarantees;
    /// the C library's README lists the differences ("Fallback backend").
    case fallback

    /// The backend of a live C ring (`ar_ring_backend`), which never changes.
    init(ring: OpaquePointer) {
        switch ar_ring_backend(ring) {
        case Int32(AR_BACKEND_URING): self = .uring
        case Int32(AR_BACKEND_FALLBACK): self = .fallback
        case let rc: fatalError("ar_ring_backend returned \(rc): a library newer than AsyncRing")
        }
    }
}

/// How a ring is set up beyond its size: which backends it may run on.
public struct RingOptions: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// Never run on the fallback backend (`AR_RING_NO_FALLBACK`): where io_uring is unusable,
    /// creating the ring throws (`.notPermitted`, `.notSupported`; ``Ring/unavailableReason``
    /// says why). `ASYNCRING_BACKEND=fallback` does not apply to such a ring.
    public static let noFallback = RingOptions(rawValue: UInt32(AR_RING_NO_FALLBACK))

    /// Run on the fallback backend even where io_uring works (`AR_RING_FORCE_FALLBACK`).
    /// Combined with ``noFallback``, creating the ring throws `.invalidArgument`.
    public static let forceFallback = RingOptions(rawValue: UInt32(AR_RING_FORCE_FALLBACK))
}
