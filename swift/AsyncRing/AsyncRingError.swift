import CAsyncRing
import Glibc

/// An error from libasyncring or the kernel: a positive `errno` value, described by
/// `ar_strerror` in this library's terms.
///
/// Match it like an enum case: `catch AsyncRingError.deadlineExceeded { … }`.
///
/// Two errors carry `ETIMEDOUT` and are distinct (they compare unequal):
/// - ``deadlineExceeded``: the operation's own `deadline:` expired first (the C library's
///   `AR_COMPLETION_DEADLINE`); nothing went wrong with the connection or file, the caller
///   chose to stop waiting.
/// - ``timedOut``: the kernel reported `ETIMEDOUT`, such as a TCP connect that got no answer
///   or a keepalive or `TCP_USER_TIMEOUT` that gave up on the peer; the connection is dead.
///
/// Cancellation of the calling `Task` is reported as `CancellationError`, not as
/// ``canceled``: ``canceled`` means something else cancelled the operation (closing the
/// ring, freeing a buffer group, a cancel issued through the C API).
public struct AsyncRingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The positive errno value (`ETIMEDOUT`, `ECONNRESET`, …). ``deadlineExceeded`` has
    /// `ETIMEDOUT`, as its C completion does; ``isDeadlineExceeded`` tells it from ``timedOut``.
    public let code: Int32

    /// Whether the operation's own deadline ended it (``deadlineExceeded``; `code` is then
    /// `ETIMEDOUT`), as opposed to an error the kernel reported.
    public let isDeadlineExceeded: Bool

    /// Wraps an errno value; a negative `-errno` (the C API's convention) is accepted too.
    /// `ETIMEDOUT` gives ``timedOut``, the kernel's: a deadline is ``deadlineExceeded``.
    public init(code: Int32) {
        self.code = code < 0 ? -code : code
        self.isDeadlineExceeded = false
    }

    /// The error a failed C completion reports: `result` is its `res` (`-errno`), `flags` its
    /// `flags`. `-ETIMEDOUT` with `AR_COMPLETION_DEADLINE` is ``deadlineExceeded``; without
    /// it, ``timedOut``.
    public init(result: Int32, completionFlags flags: UInt32) {
        self.code = result < 0 ? -result : result
        self.isDeadlineExceeded = code == ETIMEDOUT && flags & UInt32(AR_COMPLETION_DEADLINE) != 0
    }

    private init(deadlineExceeded: Void) {
        self.code = ETIMEDOUT
        self.isDeadlineExceeded = true
    }

    /// `ar_strerror`'s sentence for this code, or for ``timedOut`` and ``deadlineExceeded``,
    /// which share one, a sentence telling which it is.
    public var description: String {
        if isDeadlineExceeded { return "deadline exceeded (the operation's deadline expired first)" }
        if code == ETIMEDOUT { return "timed out (the kernel's ETIMEDOUT, e.g. a connect or keepalive)" }
        return String(cString: ar_strerror(-code))
    }

    /// The operation was cancelled, other than by cancelling its Task (`ECANCELED`).
    public static let canceled = AsyncRingError(code: ECANCELED)
    /// The operation's own deadline (`deadline:`) expired first (`ETIMEDOUT` with
    /// `AR_COMPLETION_DEADLINE`). Not equal to ``timedOut``.
    public static let deadlineExceeded = AsyncRingError(deadlineExceeded: ())
    /// The kernel reported `ETIMEDOUT`: e.g. a TCP connect got no answer, or a keepalive or
    /// `TCP_USER_TIMEOUT` gave up on the peer. Not a `deadline:` (that is ``deadlineExceeded``).
    public static let timedOut = AsyncRingError(code: ETIMEDOUT)
    /// The ring is closed (`ESHUTDOWN`).
    public static let shutdown = AsyncRingError(code: ESHUTDOWN)
    /// The buffer group ran dry (`ENOBUFS`).
    public static let noBuffers = AsyncRingError(code: ENOBUFS)
    /// An invalid argument (`EINVAL`).
    public static let invalidArgument = AsyncRingError(code: EINVAL)
    /// A bad file descriptor (`EBADF`).
    public static let badFileDescriptor = AsyncRingError(code: EBADF)
    /// No such file or operation (`ENOENT`).
    public static let notFound = AsyncRingError(code: ENOENT)
    /// The peer reset the connection (`ECONNRESET`).
    public static let connectionReset = AsyncRingError(code: ECONNRESET)
    /// Nobody listens at the address (`ECONNREFUSED`).
    public static let connectionRefused = AsyncRingError(code: ECONNREFUSED)
    /// The peer closed its end (`EPIPE`).
    public static let brokenPipe = AsyncRingError(code: EPIPE)
    /// io_uring is forbidden here: seccomp or the `kernel.io_uring_disabled` sysctl (`EPERM`).
    public static let notPermitted = AsyncRingError(code: EPERM)
    /// The kernel lacks io_uring or a feature the library needs (`ENOSYS`).
    public static let notSupported = AsyncRingError(code: ENOSYS)

    /// Lets `catch AsyncRingError.deadlineExceeded` (or any other case) match a thrown error
    /// equal to it; ``deadlineExceeded`` and ``timedOut`` do not match each other.
    public static func ~= (lhs: AsyncRingError, rhs: any Error) -> Bool {
        (rhs as? AsyncRingError) == lhs
    }
}
