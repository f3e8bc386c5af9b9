import AsyncRing
import Glibc
import XCTest

final class LifecycleTests: XCTestCase {
    /// 50 rings created and dropped, half closed explicitly with an operation pending, half
    /// dropped with nothing in flight (deinit tears down): no deadlock, no leaked descriptor.
    func testCreateAndDropFiftyTimes() async throws {
        try await makeRing().close()  // skips early when io_uring is unavailable
        let (a, b) = try socketPair()
        defer {
            Glibc.close(a)
            Glibc.close(b)
        }
        // A ring owns an io_uring fd and two eventfds (notification, submitter kick).
        // (libdispatch opens timerfds lazily: those are not counted.)
        func ringDescriptors() -> [String] {
            openDescriptors().filter { $0.contains("io_uring") || $0.contains("eventfd") }
        }
        let before = ringDescriptors()
        for i in 0..<50 {
            let ring = try makeRing()
            try await ring.nop()
            if i % 2 == 0 {
                let pending = Task { try await ring.recv(a, count: 8) }
                let queued = await eventually { ring.inflight > 0 }
                XCTAssertTrue(queued)
                await ring.close()
                do {
                    _ = try await pending.value
                    XCTFail("a recv pending across close() completed")
                } catch AsyncRingError.canceled {}
            }
        }
        let settled = await eventually(timeout: 10) { ringDescriptors() == before }
        XCTAssertTrue(settled, "descriptors: \(ringDescriptors()) now, \(before) before")
    }

    func testOperationsAfterCloseThrowShutdown() async throws {
        let ring = try makeRing()
        await ring.close()
        await ring.close()  // idempotent
        do {
            try await ring.nop()
            XCTFail("nop on a closed ring succeeded")
        } catch AsyncRingError.shutdown {}
        XCTAssertThrowsError(try BufferGroup(ring: ring)) { error in
            XCTAssertEqual(error as? AsyncRingError, .shutdown)
        }
    }

    /// close() with multishot streams armed ends them with `.canceled`; a group outliving
    /// its ring is freed safely later.
    func testCloseEndsArmedStreams() async throws {
        let ring = try makeRing()
        let listener = try loopbackListener()
        defer { Glibc.close(listener.fd) }
        let (a, b) = try socketPair()
        defer {
            Glibc.close(a)
            Glibc.close(b)
        }
        var group: BufferGroup? = try BufferGroup(ring: ring, count: 4, size: 64)
        let accepting = Task { for try await fd in ring.accept(listener.fd) { Glibc.close(fd) } }
        let receiving = Task { [group] in for try await _ in ring.receive(a, group: group!) {} }
        let armed = await eventually { ring.inflight >= 2 }
        XCTAssertTrue(armed)
        await ring.close()
        do {
            try await accepting.value
            XCTFail("accept stream ended normally")
        } catch AsyncRingError.canceled {}
        do {
            try await receiving.value
            XCTFail("receive stream ended normally")
        } catch AsyncRingError.canceled {}
        group = nil
        _ = group
    }
}
