import AsyncRing
import Glibc
import XCTest

final class NetworkTests: XCTestCase {
    /// An echo server on the ring (multishot accept, a task per client with a multishot
    /// receive into a shared buffer group) and 50 concurrent clients on the same ring, each
    /// doing 20 round trips of 1000 bytes, every byte verified. Bounded by deadlines.
    func testEchoWithManyConcurrentClients() async throws {
        let ring = try makeRing(entries: 512)
        let listener = try loopbackListener()
        defer { Glibc.close(listener.fd) }
        let group = try BufferGroup(ring: ring, count: 512, size: 2048)

        let server = Task {
            try await withThrowingDiscardingTaskGroup { tasks in
                for try await client in ring.accept(listener.fd) {
                    tasks.addTask {
                        defer { Glibc.close(client) }
                        do {
                            for try await chunk in ring.receive(client, group: group) {
                                try await ring.sendAll(client, chunk)
                            }
                        } catch {}
                    }
                }
            }
        }

        let clients = 50, rounds = 20, size = 1000
        let start = now()
        try await withThrowingTaskGroup(of: Int.self) { tasks in
            for c in 0..<clients {
                tasks.addTask {
                    let fd = try await ring.socket()
                    defer { Glibc.close(fd) }
                    try await ring.connect(fd, to: .loopback(port: listener.port), deadline: .seconds(10))
                    var verified = 0
                    for r in 0..<rounds {
                        let message = pattern(size, seed: c * 1000 + r)
                        try await ring.sendAll(fd, message, deadline: .seconds(10))
                        var echoed = [UInt8]()
                        while echoed.count < size {
                            let part = try await ring.recv(fd, count: size - echoed.count, deadline: .seconds(10))
                            if part.isEmpty { throw AsyncRingError.connectionReset }
                            echoed += part
                        }
                        XCTAssertEqual(echoed, message, "client \(c) round \(r)")
                        verified += echoed.count
                    }
                    return verified
                }
            }
            var total = 0
            for try await n in tasks { total += n }
            XCTAssertEqual(total, clients * rounds * size)
        }
        XCTAssertLessThan(now() - start, 30)

        server.cancel()
        do {
            try await server.value
        } catch is CancellationError {}
        let drained = await eventually { ring.inflight == 0 }
        XCTAssertTrue(drained, "\(ring.inflight) operations still in flight")
        await ring.close()
    }

    func testMultishotAcceptAndBreak() async throws {
        let ring = try makeRing()
        let listener = try loopbackListener()
        defer { Glibc.close(listener.fd) }

        let accepting = Task {
            var fds = [Int32]()
            for try await client in ring.accept(listener.fd) {
                fds.append(client)
                if fds.count == 10 { break }  // leaving the loop cancels the accept
            }
            return fds
        }
        var clients = [Int32]()
        for _ in 0..<10 { clients.append(try plainConnect(port: listener.port)) }
        let accepted = try await accepting.value
        XCTAssertEqual(accepted.count, 10)
        XCTAssertEqual(Set(accepted).count, 10)
        XCTAssertTrue(accepted.allSatisfy { $0 >= 0 })
        let drained = await eventually { ring.inflight == 0 }
        XCTAssertTrue(drained, "the multishot accept was not cancelled")

        // The accepted fds are real connections. MSG_DONTWAIT makes the others fail at once
        // with EAGAIN, as a plain recv(2) would; the deadline turns a receive that waits for
        // data anyway into a failure instead of a hang.
        XCTAssertEqual(Glibc.write(clients[0], "x", 1), 1)
        var seen = 0
        for fd in accepted {
            do {
                let bytes = try await ring.recv(fd, count: 1, flags: Int32(MSG_DONTWAIT), deadline: .seconds(2))
                XCTAssertEqual(bytes, [UInt8(ascii: "x")])
                seen += 1
            } catch let error as AsyncRingError where error.code == EAGAIN && !error.isDeadlineExceeded {
            } catch {
                XCTFail("recv with MSG_DONTWAIT: \(error) (expected EAGAIN at once)")
            }
        }
        XCTAssertEqual(seen, 1)
        for fd in accepted + clients { Glibc.close(fd) }
        await ring.close()
    }

    /// Back-pressure on accept: with maxPending 2, ten connections waiting before anyone
    /// consumes still all arrive (accepting pauses and resumes), and none twice.
    func testAcceptBackPressure() async throws {
        let ring = try makeRing()
        let listener = try loopbackListener()
        defer { Glibc.close(listener.fd) }
        var clients = [Int32]()
        var iterator = ring.accept(listener.fd, maxPending: 2).makeAsyncIterator()
        for _ in 0..<10 { clients.append(try plainConnect(port: listener.port)) }
        try await ring.sleep(for: .milliseconds(100))
        var accepted = [Int32]()
        for _ in 0..<10 {
            guard let fd = try await iterator.next() else { break }
            accepted.append(fd)
            try await ring.sleep(for: .milliseconds(5))
        }
        XCTAssertEqual(Set(accepted).count, 10)
        for fd in accepted + clients { Glibc.close(fd) }
        await ring.close()
    }

    /// Back-pressure on receive: a tiny group (4 × 64 B) and maxPending 2 against 256 KiB
    /// sent at once, read by a slow consumer: nothing lost, nothing reordered.
    func testReceiveBackPressureLosesNothing() async throws {
        let ring = try makeRing()
        let (a, b) = try socketPair()
        defer { Glibc.close(a) }
        let group = try BufferGroup(ring: ring, count: 4, size: 64)
        let data = pattern(256 * 1024)
        let sender = Task {
            defer { Glibc.close(b) }
            try await ring.sendAll(b, data, deadline: .seconds(30))
        }
        var received = [UInt8]()
        var chunks = 0
        for try await chunk in ring.receive(a, group: group, maxPending: 2) {
            XCTAssertLessThanOrEqual(chunk.count, 64)
            received += chunk
            chunks += 1
            if chunks % 512 == 0 { try await ring.sleep(for: .milliseconds(2)) }
        }
        try await sender.value
        XCTAssertEqual(received.count, data.count)
        XCTAssertTrue(received == data, "received bytes differ")
        await ring.close()
    }

    func testCancellingTheConsumerCancelsTheReceive() async throws {
        let ring = try makeRing()
        let (a, b) = try socketPair()
        defer {
            Glibc.close(a)
            Glibc.close(b)
        }
        let group = try BufferGroup(ring: ring, count: 8, size: 256)
        let consumer = Task {
            var got = [UInt8]()
            for try await chunk in ring.receive(a, group: group) { got += chunk }
            return got
        }
        XCTAssertEqual(Glibc.write(b, "hello", 5), 5)
        try await ring.sleep(for: .milliseconds(100))
        consumer.cancel()
        do {
            _ = try await consumer.value
            XCTFail("a cancelled receive loop ended normally")
        } catch is CancellationError {}
        let drained = await eventually { ring.inflight == 0 }
        XCTAssertTrue(drained, "the multishot receive was not cancelled")

        // End of stream ends the sequence (nil), and the group is reusable.
        let reader = Task {
            var got = [UInt8]()
            for try await chunk in ring.receive(a, group: group) { got += chunk }
            return got
        }
        XCTAssertEqual(Glibc.write(b, "bye", 3), 3)
        Glibc.shutdown(b, Int32(SHUT_WR))
        let rest = try await reader.value
        XCTAssertEqual(rest, Array("bye".utf8))
        await ring.close()
    }

    func testPeerResetIsAnError() async throws {
        let ring = try makeRing()
        let listener = try loopbackListener()
        defer { Glibc.close(listener.fd) }
        let client = try plainConnect(port: listener.port)
        let server = try await ring.acceptOne(listener.fd, deadline: .seconds(5))
        defer { Glibc.close(server) }
        // SO_LINGER 0: close sends a reset.
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(client, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        Glibc.close(client)
        do {
            _ = try await ring.recv(server, count: 16, deadline: .seconds(5))
            XCTFail("recv after a reset succeeded")
        } catch AsyncRingError.connectionReset {}
        do {
            _ = try await ring.connect(try await ring.socket(), to: .loopback(port: 1), deadline: .seconds(5))
            XCTFail("connect to a closed port succeeded")
        } catch AsyncRingError.connectionRefused {}
        await ring.close()
    }

    /// The kernel's ETIMEDOUT is `.timedOut`, not a deadline: a connect whose SYNs go
    /// unanswered (the listener's accept queue is full, so the kernel drops them, and
    /// TCP_SYNCNT 1 makes it give up after ~3 s) fails with `.timedOut` although its deadline
    /// is far off, while one whose deadline expires first fails with `.deadlineExceeded`.
    func testConnectTimeoutIsNotADeadline() async throws {
        let ring = try makeRing()
        let listener = try loopbackListener(backlog: 0)
        defer { Glibc.close(listener.fd) }
        let queued = try plainConnect(port: listener.port)  // fills the accept queue
        defer { Glibc.close(queued) }

        // The deadline first.
        let early = try await ring.socket()
        defer { Glibc.close(early) }
        do {
            try await ring.connect(early, to: .loopback(port: listener.port), deadline: .milliseconds(200))
            XCTFail("connect to a listener with a full accept queue succeeded")
        } catch let error as AsyncRingError {
            XCTAssertEqual(error, .deadlineExceeded)
            XCTAssertNotEqual(error, .timedOut)
        }

        // The kernel first.
        let fd = try await ring.socket()
        defer { Glibc.close(fd) }
        var synRetries: Int32 = 1
        let tcpSynCount: Int32 = 7  // TCP_SYNCNT, <netinet/tcp.h>
        XCTAssertEqual(setsockopt(fd, Int32(IPPROTO_TCP), tcpSynCount, &synRetries, socklen_t(MemoryLayout<Int32>.size)), 0)
        let start = now()
        do {
            try await ring.connect(fd, to: .loopback(port: listener.port), deadline: .seconds(30))
            XCTFail("connect to a listener with a full accept queue succeeded")
        } catch AsyncRingError.deadlineExceeded {
            XCTFail("the kernel's connect timeout was reported as the deadline")
        } catch let error as AsyncRingError {
            XCTAssertEqual(error, .timedOut)
            XCTAssertFalse(error.isDeadlineExceeded)
            XCTAssertEqual(error.code, ETIMEDOUT)
        }
        XCTAssertLessThan(now() - start, 25)
        await ring.close()
    }

    /// Streams take a deadline for their whole run: they deliver what came before it, then
    /// throw `.deadlineExceeded`, also when it passes while receiving is paused.
    func testStreamDeadlines() async throws {
        let ring = try makeRing()

        // Accept: one connection, then the deadline.
        let listener = try loopbackListener()
        defer { Glibc.close(listener.fd) }
        let client = try plainConnect(port: listener.port)
        defer { Glibc.close(client) }
        var accepted = [Int32]()
        let start = now()
        do {
            for try await fd in ring.accept(listener.fd, deadline: .milliseconds(200)) { accepted.append(fd) }
            XCTFail("the accept stream ended without reaching its deadline")
        } catch AsyncRingError.deadlineExceeded {
            XCTAssertGreaterThanOrEqual(now() - start, 0.19)
        }
        XCTAssertEqual(accepted.count, 1)
        for fd in accepted { Glibc.close(fd) }

        // Receive: the chunk sent before the deadline, then the deadline.
        let (a, b) = try socketPair()
        defer {
            Glibc.close(a)
            Glibc.close(b)
        }
        let group = try BufferGroup(ring: ring, count: 8, size: 256)
        XCTAssertEqual(Glibc.write(b, "early", 5), 5)
        var got = [UInt8]()
        do {
            for try await chunk in ring.receive(a, group: group, deadline: .milliseconds(200)) { got += chunk }
            XCTFail("the receive stream ended without reaching its deadline")
        } catch let error as AsyncRingError {
            XCTAssertEqual(error, .deadlineExceeded)
            XCTAssertNotEqual(error, .timedOut)
        }
        XCTAssertEqual(got, Array("early".utf8))

        // maxPending 1 and 4 KiB waiting: receiving pauses, and the consumer sleeps through
        // the deadline. It gets chunks, then .deadlineExceeded, whether the deadline ended an
        // armed receive or was found expired when the stream re-armed.
        let (c, d) = try socketPair()
        defer {
            Glibc.close(c)
            Glibc.close(d)
        }
        let data = pattern(4096)
        XCTAssertEqual(Glibc.write(d, data, data.count), data.count)
        var iterator = ring.receive(c, group: group, maxPending: 1, deadline: .milliseconds(100)).makeAsyncIterator()
        let first = try await iterator.next()
        XCTAssertEqual(first?.isEmpty, false)
        try await ring.sleep(for: .milliseconds(250))
        var received = first ?? []
        do {
            while let chunk = try await iterator.next() { received += chunk }
            XCTFail("the paused receive stream ended without reaching its deadline")
        } catch AsyncRingError.deadlineExceeded {}
        XCTAssertEqual(received, Array(data.prefix(received.count)), "chunks lost or reordered")
        let drained = await eventually { ring.inflight == 0 }
        XCTAssertTrue(drained)
        await ring.close()
    }
}
