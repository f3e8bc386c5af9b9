import Glibc

/// An IPv4 or IPv6 socket address, for ``Ring/connect(_:to:deadline:)``.
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    private enum Storage: Hashable {
        case v4(host: UInt32, port: UInt16)       // both in network byte order
        case v6(host: [UInt8], port: UInt16, scope: UInt32)
    }

    private let storage: Storage

    /// Parses a numeric address (`"127.0.0.1"`, `"::1"`); nil if it is neither.
    public init?(host: String, port: UInt16) {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            storage = .v4(host: v4.s_addr, port: port.bigEndian)
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            storage = .v6(host: withUnsafeBytes(of: &v6) { Array($0) }, port: port.bigEndian, scope: 0)
            return
        }
        return nil
    }

    /// `127.0.0.1:port`.
    public static func loopback(port: UInt16) -> SocketAddress {
        SocketAddress(host: "127.0.0.1", port: port)!
    }

    /// The address family (`AF_INET` or `AF_INET6`), for `socket(2)`.
    public var family: Int32 {
        if case .v4 = storage { return AF_INET }
        return AF_INET6
    }

    public var port: UInt16 {
        switch storage {
        case .v4(_, let port), .v6(_, let port, _): return UInt16(bigEndian: port)
        }
    }

    public var description: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        func string() -> String { text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } }
        switch storage {
        case .v4(let host, _):
            var a = in_addr(s_addr: host)
            inet_ntop(AF_INET, &a, &text, socklen_t(text.count))
            return "\(string()):\(port)"
        case .v6(let host, _, _):
            var a = in6_addr()
            withUnsafeMutableBytes(of: &a) { $0.copyBytes(from: host) }
            inet_ntop(AF_INET6, &a, &text, socklen_t(text.count))
            return "[\(string())]:\(port)"
        }
    }

    /// Calls `body` with a `sockaddr` pointer and length valid for the call.
    public func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R) rethrows -> R {
        switch storage {
        case .v4(let host, let port):
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port
            sin.sin_addr = in_addr(s_addr: host)
            return try withUnsafePointer(to: &sin) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    try body($0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        case .v6(let host, let port, let scope):
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port
            sin6.sin6_scope_id = scope
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { $0.copyBytes(from: host) }
            return try withUnsafePointer(to: &sin6) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    try body($0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
    }
}
