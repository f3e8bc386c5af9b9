import CAsyncRing
import Glibc

/// An error from libasyncring or the kernel: a positive `errno` value, described by
/// `ar_strerror` in this library's terms.
///
/// Match it like an enum case: `catch AsyncRingError.timedOut { … }`.
///
/// Cancellation of the calling `Task` is reported as `CancellationError`, not as
/// ``canceled``: ``canceled`` means something else cancelled the operation (closing the
/// ring, freeing a buffer group, a cancel issued through the C API).
public struct AsyncRingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The positive errno value (`ETIMEDOUT`, `ECONNRESET`, …).
    public let code: Int32

    /// Wraps an errno value; a negative `-errno` (the C API's convention) is accepted too.
    public init(code: Int32) {
        self.code = code < 0 ? -code : code
    }

    /// `ar_strerror`'s sentence for this code.
    public var description: String {
        String(cString: ar_strerror(-code))
    }

    /// The operation was cancelled, other than by cancelling its Task (`ECANCELED`).
    public static let canceled = AsyncRingError(code: ECANCELED)
    /// The operation's deadline (`deadline:`) expired first (`ETIMEDOUT`).
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

    /// Lets `catch AsyncRingError.timedOut` match any thrown error equal to it.
    public static func ~= (lhs: AsyncRingError, rhs: any Error) -> Bool {
        (rhs as? AsyncRingError) == lhs
    }
}
