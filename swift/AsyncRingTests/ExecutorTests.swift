import AsyncRing
import Dispatch
import Glibc
import Synchronization
import XCTest

/// An executor for a test, or a skip when its ring cannot be created, on the backend the
/// suite runs on, like `makeRing`.
func makeExecutor(entries: UInt32 = 256) throws -> RingExecutor {
    do {
        let executor = try RingExecutor(entries: entries)
        checkBackend(executor.backend)
        return executor
    } catch {
        let why = Ring.unavailableReason ?? "\(error)"
        if getenv("ASYNCRING_REQUIRE_URING") != nil {
            XCTFail("io_uring is required (ASYNCRING_REQUIRE_URING) but unavailable: \(why)")
            throw error
        }
        throw XCTSkip("io_uring unavailable: \(why)")
    }
}

/// The calling thread, comparable.
func threadID() -> UInt { UInt(pthread_self()) }

final class ExecutorTests: XCTestCase {
    /// Tasks that prefer the executor run on its one thread; so do their child tasks (task
    /// groups and `async let` inherit the preference), and the thread is not the caller's.
    func testTasksAndChildTasksRunOnTheRingThread() async throws {
        let executor = try makeExecutor()
        let outside = threadID()
        let (ringThread, children) = await Task(executorPreference: executor) { () -> (UInt, [UInt]) in
            XCTAssertTrue(executor.isCurrent)
            XCTAssertTrue(RingExecutor.current === executor)
            let here = threadID()
            async let one = threadID()
            var threads = await withTaskGroup(of: UInt.self) { group in
                for _ in 0..<8 { group.addTask { threadID() } }
                return await group.reduce(into: [UInt]()) { $0.append($1) }
            }
            threads.append(await one)
            return (here, threads)
        }.value
        XCTAssertNotEqual(ringThread, outside)
        XCTAssertEqual(children, Array(repeating: ringThread, count: 9))
        let viaRun = try await executor.run { threadID() }
        XCTAssertEqual(viaRun, ringThread)
        XCTAssertFalse(executor.isCurrent)
        XCTAssertNil(RingExecutor.current)
        await executor.shutdown()
    }

    /// Operations of tasks on the executor are resumed by their completions on the ring's
    /// thread: nops, timers, and a socket round trip.
    func testCompletionsResumeOnTheRingThread() async throws {
        let executor = try makeExecutor()
        let ring = executor.ring
        XCTAssertTrue(ring.executor === executor)
        let (a, b) = try socketPair()
        defer {
            Glibc.close(a)
            Glibc.close(b)
        }
        try await executor.run {
            let thread = threadID()
            for _ in 0..<200 {
                try await ring.nop()
                XCTAssertEqual(threadID(), thread)
            }
            try await ring.sleep(for: .milliseconds(5))
            XCTAssertEqual(threadID(), thread)
            for i in 0..<50 {
                let message = pattern(100, seed: i)
                try await ring.sendAll(a, message, deadline: .seconds(5))
                XCTAssertEqual(threadID(), thread)
                let echoed = try await ring.recv(b, count: 100, deadline: .seconds(5))
                XCTAssertEqual(threadID(), thread)
                XCTAssertEqual(echoed, message)
            }
        }
        await executor.shutdown()
    }

    /// The executor's ring used from tasks elsewhere (the global executor, a detached task,
    /// an actor): each operation hops onto the ring's thread and back, and works.
    func testOperationsFromOtherExecutors() async throws {
        let executor = try makeExecutor()
        let ring = executor.ring
        let (a, b) = try socketPair()
        defer {
            Glibc.close(a)
            Glibc.close(b)
        }
        let group = try BufferGroup(ring: ring, count: 8, size: 256)  // created off the thread
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for t in 0..<8 {
                tasks.addTask {
                    for _ in 0..<50 { try await ring.nop(deadline: .seconds(5)) }
                    XCTAssertFalse(executor.isCurrent, "task \(t) stayed on the ring thread")
                }
            }
            try await tasks.waitForAll()
        }
        // A stream consumed off the executor, fed by sends from a detached task.
        let chunks = ring.receiveBuffers(b, group: group, deadline: .seconds(10))
        let sender = Task.detached {
            for i in 0..<20 { try await ring.sendAll(a, pattern(64, seed: i)) }
            Glibc.shutdown(a, Int32(SHUT_WR))
        }
        var received = [UInt8]()
        while let chunk = try await chunks.next() {
            received += chunk.bytes
        }
        try await sender.value
        XCTAssertEqual(received, (0..<20).flatMap { pattern(64, seed: $0) })
        actor Counter {
            var n = 0
            func nops(_ ring: Ring) async throws {
                for _ in 0..<20 {
                    try await ring.nop()
                    n += 1  // back on the actor after each operation
                }
            }
        }
        let counter = Counter()
        try await counter.nops(ring)
        let n = await counter.n
        XCTAssertEqual(n, 20)
        await executor.shutdown()
    }

    /// Operation boxes are pooled on the executor: cancelled operations and the ones that reuse
    /// their boxes stay apart (a cancel never reaches a later operation).
    func testPooledOperationsAndCancellation() async throws {
        let executor = try makeExecutor()
        let ring = executor.ring
        let (a, b) = try socketPair()
        defer {
            Glibc.close(a)
            Glibc.close(b)
        }
        try await executor.run {
            for i in 0..<100 {
                let pending = Task { try await ring.recv(b, count: 8) }
                try await ring.nop()
                pending.cancel()
                do {
                    _ = try await pending.value
                    XCTFail("a cancelled recv completed")
                } catch is CancellationError {}
                let message = pattern(8, seed: i)
                try await ring.sendAll(a, message)
                let echoed = try await ring.recv(b, count: 8, deadline: .seconds(5))
                XCTAssertEqual(echoed, message)
            }
        }
        await executor.shutdown()
    }

    /// An actor whose serial executor is the ring's: its methods run on the ring's thread,
    /// its operations complete there, and it stays exclusive under concurrent callers.
    func testActorOnTheRingExecutor() async throws {
        let executor = try makeExecutor()
        actor Counter {
            let executor: RingExecutor
            var count = 0
            nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
            init(_ executor: RingExecutor) { self.executor = executor }
            func bump(_ ring: Ring) async throws -> Bool {
                let before = count
                count = before + 1
                try await ring.nop()
                count += 1
                return executor.isCurrent
            }
            func total() -> Int {
                assumeIsolated { $0.count }
            }
        }
        let counter = Counter(executor)
        let ring = executor.ring
        let onThread = try await withThrowingTaskGroup(of: Bool.self) { tasks in
            for _ in 0..<20 { tasks.addTask { try await counter.bump(ring) } }
            return try await tasks.reduce(true) { $0 && $1 }
        }
        XCTAssertTrue(onThread)
        let total = await counter.total()
        XCTAssertEqual(total, 40)
        await executor.shutdown()
    }

    /// Lent buffers go back to their group: a group of 4 buffers carries 200 chunks, each sent
    /// back as it is (zero copy) and verified by the peer.
    func testLentBuffersAreRecycledAndSentAsTheyAre() async throws {
        let executor = try makeExecutor()
        let ring = executor.ring
        let (a, b) = try socketPair()
        defer {
            Glibc.close(a)
            Glibc.close(b)
        }
        try await executor.run {
            let group = try BufferGroup(ring: ring, count: 4, size: 64)
            let chunks = ring.receiveBuffers(b, group: group, deadline: .seconds(20))
            for i in 0..<200 {
                let message = pattern(64, seed: i)
                try await ring.sendAll(a, message)
                var echoed = [UInt8]()
                while echoed.count < 64 {
                    guard let chunk = try await chunks.next() else { throw AsyncRingError.connectionReset }
                    XCTAssertTrue(executor.isCurrent)
                    if i % 2 == 0 {
                        echoed += chunk.bytes
                        chunk.release()
                    } else {
                        try await ring.sendAll(b, chunk)  // back to a, from the provided buffer
                        echoed += try await ring.recv(a, count: 64, deadline: .seconds(5))
                    }
                }
                XCTAssertEqual(echoed, message, "round \(i)")
            }
        }
        await executor.shutdown()
    }

    #if compiler(>=6.2)
    /// Swift 6.2: a lent buffer's bytes as a `Span`, read in place.
    func testLentBufferAsSpan() async throws {
        let executor = try makeExecutor()
        let ring = executor.ring
        let (a, b) = try socketPair()
        defer {
            Glibc.close(a)
            Glibc.close(b)
        }
        try await executor.run {
            let group = try BufferGroup(ring: ring, count: 4, size: 64)
            let chunks = ring.receiveBuffers(b, group: group, deadline: .seconds(10))
            let message = pattern(48)
            try await ring.sendAll(a, message)
            guard let chunk = try await chunks.next() else { throw AsyncRingError.connectionReset }
            let (count, sum) = chunk.withSpan { span -> (Int, Int) in
                var sum = 0
                for i in span.indices { sum += Int(span[i]) }
                return (span.count, sum)
            }
            XCTAssertEqual(count, chunk.count)
            XCTAssertEqual(sum, message.prefix(count).reduce(0) { $0 + Int($1) })
        }
        await executor.shutdown()
    }
    #endif

    /// A group of rings: next() goes round-robin over distinct executors, each on its own
    /// thread; shutdown ends them all.
    func testGroupOfRings() async throws {
        _ = try makeExecutor()  // skips early when io_uring is unavailable
        let group = try RingExecutorGroup(count: 3)
        XCTAssertEqual(group.executors.count, 3)
        let picked = (0..<6).map { _ in group.next() }
        for i in 0..<3 {
            XCTAssertTrue(picked[i] === group.executors[i])
            XCTAssertTrue(picked[i + 3] === group.executors[i])
        }
        var threads = Set<UInt>()
        for executor in group.executors {
            let thread = try await executor.run { () -> UInt in
                try await executor.ring.nop()
                return threadID()
            }
            threads.insert(thread)
        }
        XCTAssertEqual(threads.count, 3)
        await group.shutdown()
        for executor in group.executors {
            do {
                try await executor.ring.nop()
                XCTFail("nop after shutdown succeeded")
            } catch AsyncRingError.shutdown {}
        }
    }

    /// Shutdown with operations in flight, on and off the executor: every continuation is
    /// resumed (`.canceled`), streams end, later operations throw `.shutdown`, and nothing
    /// hangs.
    func testShutdownWithOperationsInFlight() async throws {
        let executor = try makeExecutor()
        let ring = executor.ring
        let (a, b) = try socketPair()
        defer {
            Glibc.close(a)
            Glibc.close(b)
        }
        let group = try BufferGroup(ring: ring, count: 4, size: 64)
        let onExecutor = (0..<10).map { _ in
            Task(executorPreference: executor) { try await ring.recv(a, count: 8) }
        }
        let offExecutor = (0..<5).map { _ in Task { try await ring.sleep(for: .seconds(60)) } }
        let stream = Task(executorPreference: executor) {
            let chunks = ring.receiveBuffers(b, group: group)
            while let chunk = try await chunks.next() { chunk.release() }
        }
        let queued = await eventually { ring.inflight >= 16 }
        XCTAssertTrue(queued, "\(ring.inflight) in flight")
        let start = now()
        await executor.shutdown()
        for task in onExecutor {
            do {
                _ = try await task.value
                XCTFail("a recv pending across shutdown completed")
            } catch AsyncRingError.canceled {}
        }
        for task in offExecutor {
            do {
                try await task.value
                XCTFail("a sleep pending across shutdown completed")
            } catch AsyncRingError.canceled {}
        }
        do {
            try await stream.value
            XCTFail("the receive stream ended normally")
        } catch AsyncRingError.canceled {}
        XCTAssertLessThan(now() - start, 10)
        XCTAssertEqual(ring.inflight, 0)
        do {
            try await ring.nop()
            XCTFail("nop after shutdown succeeded")
        } catch AsyncRingError.shutdown {}
        // Tasks that prefer a shut-down executor still run (on the global executor).
        let ran = await Task(executorPreference: executor) { true }.value
        XCTAssertTrue(ran)
        await executor.shutdown()  // idempotent
    }

    /// An echo server on the executor (multishot accept, a child task per connection with
    /// lent buffers sent back as they are) and 20 clients on the plain thread-safe ring.
    func testEchoServerOnTheExecutor() async throws {
        let executor = try makeExecutor(entries: 512)
        let ring = executor.ring
        let clientsRing = try makeRing()
        let listener = try loopbackListener()
        defer { Glibc.close(listener.fd) }
        let server = Task(executorPreference: executor) {
            let group = try BufferGroup(ring: ring, count: 256, size: 2048)
            try await withThrowingDiscardingTaskGroup { tasks in
                for try await client in ring.accept(listener.fd) {
                    tasks.addTask {
                        defer { Glibc.close(client) }
                        precondition(executor.isCurrent)
                        let chunks = ring.receiveBuffers(client, group: group)
                        do {
                            while let chunk = try await chunks.next() {
                                try await ring.sendAll(client, chunk)
                            }
                        } catch {}
                    }
                }
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for c in 0..<20 {
                tasks.addTask {
                    let fd = try await clientsRing.socket()
                    defer { Glibc.close(fd) }
                    try await clientsRing.connect(fd, to: .loopback(port: listener.port), deadline: .seconds(10))
                    for r in 0..<20 {
                        let message = pattern(1000, seed: c * 100 + r)
                        try await clientsRing.sendAll(fd, message, deadline: .seconds(10))
                        var echoed = [UInt8]()
                        while echoed.count < message.count {
                            let part = try await clientsRing.recv(fd, count: message.count - echoed.count, deadline: .seconds(10))
                            if part.isEmpty { throw AsyncRingError.connectionReset }
                            echoed += part
                        }
                        XCTAssertEqual(echoed, message)
                    }
                }
            }
            try await tasks.waitForAll()
        }
        server.cancel()
        do {
            try await server.value
        } catch is CancellationError {}
        await executor.shutdown()
        await clientsRing.close()
    }
}
