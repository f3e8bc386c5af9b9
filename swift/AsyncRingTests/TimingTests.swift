import AsyncRing
import CAsyncRing
import Glibc
import XCTest

final class TimingTests: XCTestCase {
    func testNopsFromManyTasks() async throws {
        let ring = try makeRing()
        // Any Task may queue (AR_RING_THREADSAFE): 2000 nops from 2000 child tasks.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<2000 {
                group.addTask { try await ring.nop() }
            }
            try await group.waitForAll()
        }
        XCTAssertEqual(ring.inflight, 0)
        await ring.close()
    }

    func testTimers() async throws {
        let ring = try makeRing()
        let start = now()
        try await ring.sleep(for: .milliseconds(50))
        XCTAssertGreaterThanOrEqual(now() - start, 0.045)

        // Concurrent timers finish in about the longest one's time, not the sum.
        let t0 = now()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 1...20 {
                group.addTask { try await ring.sleep(for: .milliseconds(5 * i)) }
            }
            try await group.waitForAll()
        }
        let elapsed = now() - t0
        XCTAssertGreaterThanOrEqual(elapsed, 0.095)
        XCTAssertLessThan(elapsed, 1.5)
        await ring.close()
    }

    func testDeadlineIsNotCancel() async throws {
        let ring = try makeRing()
        let (a, b) = try socketPair()
        defer {
            Glibc.close(a)
            Glibc.close(b)
        }
        // A deadline expires: .deadlineExceeded (not .timedOut, the kernel's ETIMEDOUT).
        let start = now()
        do {
            _ = try await ring.recv(a, count: 16, deadline: .milliseconds(50))
            XCTFail("recv without data completed")
        } catch AsyncRingError.timedOut {
            XCTFail("a deadline matched .timedOut")
        } catch AsyncRingError.deadlineExceeded {
            XCTAssertGreaterThanOrEqual(now() - start, 0.045)
        }

        // The Task is cancelled: CancellationError, even with a (longer) deadline set.
        let task = Task { try await ring.recv(a, count: 16, deadline: .seconds(30)) }
        let queued = await eventually { ring.inflight >= 1 }
        XCTAssertTrue(queued)
        task.cancel()
        do {
            _ = try await task.value
            XCTFail("cancelled recv completed")
        } catch is CancellationError {}

        // A timer cancelled mid-way.
        let timer = Task { try await ring.sleep(for: .seconds(30)) }
        try await ring.sleep(for: .milliseconds(20))
        timer.cancel()
        do {
            try await timer.value
            XCTFail("cancelled timer fired")
        } catch is CancellationError {}

        // Neither left anything in flight, and the socket still works afterwards.
        let inflightDrained = await eventually { ring.inflight == 0 }
        XCTAssertTrue(inflightDrained)
        XCTAssertEqual(Glibc.write(b, "ok", 2), 2)
        let got = try await ring.recv(a, count: 16, deadline: .seconds(5))
        XCTAssertEqual(got, Array("ok".utf8))
        await ring.close()
    }

    /// A deadline is `.deadlineExceeded`, whatever operation it ends; `.timedOut` is kept for
    /// the kernel's ETIMEDOUT (NetworkTests.testConnectTimeoutIsNotADeadline makes one).
    func testDeadlineExceededIsNotTimedOut() async throws {
        let ring = try makeRing()
        let (a, b) = try socketPair()
        defer {
            Glibc.close(a)
            Glibc.close(b)
        }
        // Deadlines of a receive, a send into a full socket and a read of an empty pipe.
        let full = try socketPair()
        defer {
            Glibc.close(full.0)
            Glibc.close(full.1)
        }
        let junk = [UInt8](repeating: 7, count: 65536)
        while Glibc.send(full.0, junk, junk.count, Int32(MSG_DONTWAIT)) > 0 {}
        var pipeFds: [Int32] = [-1, -1]
        XCTAssertEqual(pipe(&pipeFds), 0)
        defer {
            Glibc.close(pipeFds[0])
            Glibc.close(pipeFds[1])
        }
        let operations: [(String, @Sendable () async throws -> Void)] = [
            ("recv", { _ = try await ring.recv(a, count: 16, deadline: .milliseconds(30)) }),
            ("send", { _ = try await ring.send(full.0, junk, deadline: .milliseconds(30)) }),
            ("read", { [pipeFds] in _ = try await ring.read(fd: pipeFds[0], count: 16, deadline: .milliseconds(30)) }),
        ]
        for (name, operation) in operations {
            do {
                try await operation()
                XCTFail("\(name) completed before its deadline")
            } catch let error as AsyncRingError {
                XCTAssertEqual(error, .deadlineExceeded, name)
                XCTAssertNotEqual(error, .timedOut, name)
                XCTAssertTrue(error.isDeadlineExceeded, name)
                XCTAssertEqual(error.code, ETIMEDOUT, "the errno stays ETIMEDOUT (\(name))")
            }
        }

        // The mapping from a C completion: the flag makes the difference.
        let kernel = AsyncRingError(result: -ETIMEDOUT, completionFlags: 0)
        XCTAssertEqual(kernel, .timedOut)
        XCTAssertNotEqual(kernel, .deadlineExceeded)
        XCTAssertFalse(kernel.isDeadlineExceeded)
        XCTAssertEqual(AsyncRingError(code: -ETIMEDOUT), .timedOut)
        XCTAssertNotEqual(AsyncRingError(code: ETIMEDOUT), .deadlineExceeded)
        let deadline = AsyncRingError(result: -ETIMEDOUT, completionFlags: UInt32(AR_COMPLETION_DEADLINE))
        XCTAssertEqual(deadline, .deadlineExceeded)
        XCTAssertEqual(deadline.code, ETIMEDOUT)
        XCTAssertEqual(AsyncRingError(result: -ECANCELED, completionFlags: UInt32(AR_COMPLETION_DEADLINE)), .canceled)
        XCTAssertEqual(Set([kernel, deadline, .timedOut, .deadlineExceeded]).count, 2)
        XCTAssertNotEqual(kernel.description, deadline.description)
        // Pattern matching tells them apart too.
        switch kernel as any Error {
        case AsyncRingError.deadlineExceeded: XCTFail("a kernel ETIMEDOUT matched .deadlineExceeded")
        case AsyncRingError.timedOut: break
        default: XCTFail("a kernel ETIMEDOUT did not match .timedOut")
        }
        await ring.close()
    }

    func testTaskCancellationOfPendingRecv() async throws {
        let ring = try makeRing()
        let (a, b) = try socketPair()
        defer {
            Glibc.close(a)
            Glibc.close(b)
        }
        // Many receives pending on many tasks, all cancelled at once.
        let tasks = (0..<32).map { _ in Task { try await ring.recv(a, count: 1) } }
        let queued = await eventually { ring.inflight >= 32 }
        XCTAssertTrue(queued)
        for task in tasks { task.cancel() }
        for task in tasks {
            do {
                _ = try await task.value
                XCTFail("a cancelled recv completed")
            } catch is CancellationError {}
        }
        // Cancelled before it starts: nothing is queued.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await ring.recv(a, count: 1)
        }
        do {
            _ = try await early.value
            XCTFail("recv in a cancelled task completed")
        } catch is CancellationError {}
        let drained = await eventually { ring.inflight == 0 }
        XCTAssertTrue(drained)
        await ring.close()
    }

    /// Swift's cooperative pool and libdispatch retire idle threads after a few seconds, and
    /// the kernel cancels an io_uring request whose submitting thread exits. This receive is
    /// queued from a pool thread and gets its data only after ~7 s of total idleness: it
    /// completes because AR_RING_THREADSAFE submits from a thread the ring owns.
    func testLongIdleWaitOutlivesPoolThreads() async throws {
        let ring = try makeRing()
        let (a, b) = try socketPair()
        defer {
            Glibc.close(a)
            Glibc.close(b)
        }
        // Queue the receive from a detached task, and make the pool busy for a moment so
        // that extra threads exist and then go idle.
        let pending = Task.detached { try await ring.recv(a, count: 32) }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    var x = 0
                    for i in 0..<200_000 { x &+= i }
                    _ = x
                }
            }
        }
        let writer = Thread7s(fd: b)
        writer.start()
        let start = now()
        let data = try await pending.value
        XCTAssertEqual(data, Array("after a long idle".utf8))
        XCTAssertGreaterThanOrEqual(now() - start, 6.5)
        writer.join()
        await ring.close()
    }
}

/// A plain pthread that writes to `fd` after 7 s: the only thing active meanwhile.
final class Thread7s: @unchecked Sendable {
    let fd: Int32
    var thread = pthread_t()

    init(fd: Int32) { self.fd = fd }

    func start() {
        let box = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&thread, nil, { arg in
            let me = Unmanaged<Thread7s>.fromOpaque(arg!).takeRetainedValue()
            Glibc.sleep(7)
            let text = Array("after a long idle".utf8)
            _ = Glibc.write(me.fd, text, text.count)
            return nil
        }, box)
    }

    func join() { pthread_join(thread, nil) }
}
