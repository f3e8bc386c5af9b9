import AsyncRing
import Glibc
import XCTest

final class FileTests: XCTestCase {
    func testFileRoundTrip() async throws {
        let ring = try makeRing()
        var template = Array("/tmp/asyncring-swift-XXXXXX".utf8CString)
        guard let dirPtr = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw AsyncRingError(code: errno)
        }
        let dir = String(cString: dirPtr)
        let path = dir + "/data.bin"
        defer {
            unlink(path)
            rmdir(dir)
        }

        let data = pattern(100_000)
        let fd = try await ring.open(path, flags: O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, mode: 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        var written = 0
        while written < data.count {
            written += try await ring.write(fd: fd, bytes: data[written...], offset: UInt64(written))
        }
        try await ring.fsync(fd)
        try await ring.fsync(fd, dataOnly: true)

        let byPath = try await ring.stat(path)
        XCTAssertEqual(byPath.size, UInt64(data.count))
        XCTAssertTrue(byPath.isRegularFile)
        XCTAssertEqual(byPath.permissions, 0o600)
        let byFD = try await ring.stat(fd: fd)
        XCTAssertEqual(byFD.inode, byPath.inode)
        let directory = try await ring.stat(dir)
        XCTAssertTrue(directory.isDirectory)

        // Read it back in chunks, at explicit offsets, 8 reads in flight at a time.
        var back = [UInt8]()
        let chunk = 16 * 1024
        try await withThrowingTaskGroup(of: (Int, [UInt8]).self) { group in
            for offset in stride(from: 0, to: data.count, by: chunk) {
                group.addTask { (offset, try await ring.read(fd: fd, count: chunk, offset: UInt64(offset))) }
            }
            var parts = [(Int, [UInt8])]()
            for try await part in group { parts.append(part) }
            for (_, bytes) in parts.sorted(by: { $0.0 < $1.0 }) { back += bytes }
        }
        XCTAssertEqual(back, data)
        let atEnd = try await ring.read(fd: fd, count: 10, offset: UInt64(data.count))
        XCTAssertEqual(atEnd, [], "a read at end of file returns no bytes")
        try await ring.close(fd)

        // The descriptor is gone: using it again is EBADF.
        do {
            _ = try await ring.read(fd: fd, count: 1, offset: 0)
            XCTFail("read after close succeeded")
        } catch AsyncRingError.badFileDescriptor {}
        await ring.close()
    }

    func testErrorsCarryErrnoAndDescription() async throws {
        let ring = try makeRing()
        do {
            _ = try await ring.open("/nonexistent/asyncring/file")
            XCTFail("open succeeded")
        } catch let error as AsyncRingError {
            XCTAssertEqual(error, .notFound)
            XCTAssertEqual(error.code, ENOENT)
            XCTAssertFalse(error.description.isEmpty)
        }
        do {
            _ = try await ring.stat("/nonexistent/asyncring/file")
            XCTFail("stat succeeded")
        } catch AsyncRingError.notFound {}
        XCTAssertEqual(AsyncRingError(code: -ETIMEDOUT), .timedOut, "-errno and errno are the same error")
        await ring.close()
    }
}
