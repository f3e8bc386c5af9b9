import AsyncRing
import Glibc
import XCTest

final class BackendTests: XCTestCase {
    /// A default ring runs on io_uring where it works, or on the fallback when the
    /// environment says so; the options force either one, whatever the environment.
    func testOptionsAndEnvironmentChooseTheBackend() async throws {
        let uringUsable = Ring.unavailableReason == nil
        let want = uringUsable ? expectedBackend() : .fallback

        let ring = try Ring()
        XCTAssertEqual(ring.backend, want)
        // swift/test.sh looks for this line: it shows ASYNCRING_BACKEND reached the tests.
        print("AsyncRing tests: a default ring runs on \(ring.backend)")
        try await ring.nop()
        await ring.close()
        XCTAssertEqual(ring.backend, want, "the backend is still known after close()")

        let forced = try Ring(options: .forceFallback)
        XCTAssertEqual(forced.backend, .fallback)
        try await forced.sleep(for: .milliseconds(1))
        await forced.close()

        do {
            let strict = try Ring(options: .noFallback)
            XCTAssertTrue(uringUsable, "a ring made with .noFallback where io_uring is unusable")
            XCTAssertEqual(strict.backend, .uring)
            await strict.close()
        } catch let error as AsyncRingError {
            XCTAssertFalse(uringUsable, "\(error)")
            XCTAssertTrue([AsyncRingError.notPermitted, .notSupported].contains(error), "\(error)")
        }

        XCTAssertThrowsError(try Ring(options: [.noFallback, .forceFallback])) { error in
            XCTAssertEqual(error as? AsyncRingError, .invalidArgument)
        }
    }

    /// An executor reports its ring's backend, through itself and through its `ring`.
    func testExecutorReportsItsBackend() async throws {
        let uringUsable = Ring.unavailableReason == nil
        let executor = try RingExecutor(options: .forceFallback)
        XCTAssertEqual(executor.backend, .fallback)
        XCTAssertEqual(executor.ring.backend, .fallback)
        try await executor.run { try await executor.ring.nop() }
        await executor.shutdown()

        let plain = try RingExecutor()
        XCTAssertEqual(plain.backend, uringUsable ? expectedBackend() : .fallback)
        XCTAssertEqual(plain.ring.backend, plain.backend)
        await plain.shutdown()

        let group = try RingExecutorGroup(count: 2, options: .forceFallback)
        XCTAssertEqual(group.executors.map(\.backend), [.fallback, .fallback])
        await group.shutdown()
    }
}
