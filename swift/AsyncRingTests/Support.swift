import AsyncRing
import Dispatch
import Glibc
import XCTest

/// A ring for a test, or a skip when it cannot be created. Where io_uring is unavailable
/// (seccomp, sysctl, old kernel) the ring runs on the fallback backend, unless
/// ASYNCRING_REQUIRE_URING is set (CI): then that is a failure. See `checkBackend`.
func makeRing(entries: UInt32 = 256) throws -> Ring {
    do {
        let ring = try Ring(entries: entries)
        checkBackend(ring.backend)
        return ring
    } catch {
        let why = Ring.unavailableReason ?? "\(error)"
        if getenv("ASYNCRING_REQUIRE_URING") != nil {
            XCTFail("io_uring is required (ASYNCRING_REQUIRE_URING) but unavailable: \(why)")
            throw error
        }
        throw XCTSkip("io_uring unavailable: \(why)")
    }
}

/// The backend a ring made without ``RingOptions`` runs on where io_uring works: the fallback
/// under ASYNCRING_BACKEND=fallback (swift/test.sh runs the suite that way too), else io_uring.
func expectedBackend() -> Backend {
    guard let value = getenv("ASYNCRING_BACKEND") else { return .uring }
    return String(cString: value) == "fallback" ? .fallback : .uring
}

/// Fails the test when a ring made without ``RingOptions`` is not on the backend the suite
/// says it runs on: the fallback under ASYNCRING_BACKEND=fallback, io_uring under
/// ASYNCRING_REQUIRE_URING (so that nothing silently runs on the fallback in CI).
func checkBackend(_ backend: Backend, file: StaticString = #filePath, line: UInt = #line) {
    let want = expectedBackend()
    if (want == .fallback || getenv("ASYNCRING_REQUIRE_URING") != nil) && backend != want {
        XCTFail("the ring runs on \(backend), expected \(want)", file: file, line: line)
    }
}

/// A connected pair of Unix stream sockets.
func socketPair() throws -> (Int32, Int32) {
    var fds: [Int32] = [-1, -1]
    guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
        throw AsyncRingError(code: errno)
    }
    return (fds[0], fds[1])
}

/// A TCP listener on 127.0.0.1 and an ephemeral port.
func loopbackListener(backlog: Int32 = 1024) throws -> (fd: Int32, port: UInt16) {
    let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw AsyncRingError(code: errno) }
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
            bind(fd, sa, len) == 0 && listen(fd, backlog) == 0 && getsockname(fd, sa, &len) == 0
        }
    }
    guard ok else {
        let e = errno
        Glibc.close(fd)
        throw AsyncRingError(code: e)
    }
    return (fd, UInt16(bigEndian: addr.sin_port))
}

/// A blocking connect to 127.0.0.1:port, outside the ring.
func plainConnect(port: UInt16) throws -> Int32 {
    let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw AsyncRingError(code: errno) }
    let rc = SocketAddress.loopback(port: port).withSockaddr { Glibc.connect(fd, $0, $1) }
    guard rc == 0 else {
        let e = errno
        Glibc.close(fd)
        throw AsyncRingError(code: e)
    }
    return fd
}

/// What this process's descriptors point to ("socket:[…]", "anon_inode:[io_uring]", …).
func openDescriptors() -> [String] {
    guard let dir = opendir("/proc/self/fd") else { return [] }
    defer { closedir(dir) }
    var targets = [String]()
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        var target = [CChar](repeating: 0, count: 256)
        let n = readlink("/proc/self/fd/" + name, &target, target.count - 1)
        if n > 0 { targets.append(String(decoding: target[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)) }
    }
    return targets.sorted()
}

/// Seconds since an arbitrary point, monotonic.
func now() -> Double {
    Double(DispatchTime.now().uptimeNanoseconds) / 1e9
}

/// Deterministic test data.
func pattern(_ count: Int, seed: Int = 0) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed &* 7 &+ ($0 >> 8)) }
}

/// Waits (briefly) until `condition` holds.
func eventually(timeout: Double = 5, _ condition: () -> Bool) async -> Bool {
    let end = now() + timeout
    while now() < end {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}
