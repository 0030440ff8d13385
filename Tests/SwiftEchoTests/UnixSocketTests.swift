import Foundation
import Glibc
import Testing

/// Unix-domain listeners end to end: the socket file's mode, a stale file replaced, a live one
/// and anything that is not a socket left alone, and the file removed on every way out.
@Suite struct UnixSocketTests {
    @Test(arguments: [(nil, 0o660), ("0600", 0o600), ("0666", 0o666)] as [(String?, Int)])
    func servesWithTheAskedMode(mode: String?, expected: Int) throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("s")
        let daemon = try Daemon.serving((mode.map { ["--unix-mode", $0] } ?? []) + ["--log-level", "debug"],
                                        listen: ["unix:\(path)"])
        let status = try #require(fileStatus(path))
        #expect(status.st_mode & S_IFMT == S_IFSOCK)
        #expect(Int(status.st_mode & 0o7777) == expected)
        let client = try TestClient(unixPath: path)
        #expect(try client.roundTrip(Payload.random(count: 100_000, seed: 81)))
        // The log line reaches us through a pipe reader: wait for it rather than race it.
        #expect(daemon.waitForOutput(containing: "peer.address=unix:\(path) new connection", timeout: 5 * Sanitizer.slowdown),
                "the peer is named by its socket")
        let stats = try daemon.stats()
        #expect(stats["errors.other"] == 0, "no TCP option is tried on a Unix socket: \(stats)")
        #expect(!daemon.stderr.contains(" error "), "\(daemon.stderr)")
    }

    @Test func aRelativePathWorksAndIsRemoved() throws {
        let directory = try TemporaryDirectory()
        let daemon = try Daemon.started(["--listen", "unix:rel.sock"], listeners: 1,
                                        shellPrefix: "cd '\(directory.path)'")
        #expect(daemon.listeningAddresses == ["unix:rel.sock"])
        #expect(try TestClient(unixPath: directory.file("rel.sock")).roundTrip(Array("relative".utf8)))
        daemon.send(signal: SIGTERM)
        #expect(daemon.waitForExit(timeout: 10 * Sanitizer.slowdown) == .exited(0))
        #expect(fileStatus(directory.file("rel.sock")) == nil)
    }

    @Test func aStaleSocketFileIsReplaced() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("s")
        try leaveStaleSocket(at: path)
        #expect(fileStatus(path) != nil)
        let daemon = try Daemon.serving([], listen: ["unix:\(path)"])  // bind() would fail on the old file
        #expect(try TestClient(unixPath: path).roundTrip(Array("fresh".utf8)))
        #expect(!daemon.stderr.contains("error"))
    }

    @Test func aLiveSocketIsRefusedAndKeepsServing() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("s")
        let first = try Daemon.serving([], listen: ["unix:\(path)"])
        let before = try #require(fileStatus(path))
        let second = try Daemon.run(["--listen", "unix:\(path)"])
        #expect(second.termination == .exited(69))
        #expect(second.stderr.hasPrefix("Error: cannot listen on unix:\(path): another process is listening on unix:\(path)"),
                "\(second.stderr)")
        #expect(fileStatus(path)?.st_ino == before.st_ino, "the live socket's file is untouched")
        #expect(try TestClient(unixPath: path).roundTrip(Array("still here".utf8)))
        first.send(signal: SIGTERM)
        #expect(first.waitForExit(timeout: 10 * Sanitizer.slowdown) == .exited(0))
    }

    @Test func somethingThatIsNotASocketIsNeverRemoved() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("data")
        try "precious".write(toFile: path, atomically: false, encoding: .utf8)
        let run = try Daemon.run(["--listen", "unix:\(path)"])
        #expect(run.termination == .exited(69))
        #expect(run.stderr.hasPrefix("Error: cannot listen on unix:\(path): \(path) exists and is not a socket"), "\(run.stderr)")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "precious")
    }

    @Test func theFileIsRemovedAfterAGracefulStop() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("s")
        let daemon = try Daemon.serving([], listen: ["unix:\(path)"])
        #expect(fileStatus(path) != nil)
        daemon.send(signal: SIGTERM)
        #expect(daemon.waitForExit(timeout: 10 * Sanitizer.slowdown) == .exited(0))
        #expect(fileStatus(path) == nil)
    }

    /// The file goes as soon as the stop begins, so a successor can start while this one
    /// drains; the immediate stop of a second signal then leaves the successor's file alone.
    @Test func theFileIsRemovedWhenTheStopBeginsEvenIfASecondSignalFollows() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("s")
        let daemon = try Daemon.serving(["--shutdown-timeout", "60"], listen: ["unix:\(path)"])
        let client = try TestClient(unixPath: path)
        #expect(try client.roundTrip(Array("held open".utf8)))
        daemon.send(signal: SIGTERM)
        #expect(daemon.waitForOutput(containing: "stopping gracefully", timeout: 5 * Sanitizer.slowdown))
        #expect(daemon.waitForExit(timeout: 0.5) == nil, "draining: the client keeps it open")
        #expect(waitUntil(timeout: 2) { fileStatus(path) == nil }, "removed as the stop begins, not after the drain")
        let successor = try Daemon.serving([], listen: ["unix:\(path)"])
        let successorFile = try #require(fileStatus(path))
        daemon.send(signal: SIGTERM)
        #expect(daemon.waitForExit(timeout: 10 * Sanitizer.slowdown) == .exited(128 + SIGTERM))
        #expect(fileStatus(path)?.st_ino == successorFile.st_ino, "the successor's file is not ours to remove")
        #expect(try TestClient(unixPath: path).roundTrip(Array("successor".utf8)))
        _ = successor
    }

    @Test func theFileIsRemovedWhenALaterListenerFails() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("s")
        let held = try HeldPort()
        let run = try Daemon.run(["--listen", "unix:\(path)", "--listen", "127.0.0.1:\(held.port)"])
        #expect(run.termination == .exited(69))
        #expect(run.stderr.contains("cannot listen on 127.0.0.1:\(held.port)"), "\(run.stderr)")
        #expect(fileStatus(path) == nil, "the socket bound first is gone too")
    }

    /// A newer server that took the path over keeps its file when the older one exits.
    @Test func aReplacedFileIsLeftToItsNewOwner() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("s")
        let old = try Daemon.serving([], listen: ["unix:\(path)"])
        unlink(path)
        let new = try Daemon.serving([], listen: ["unix:\(path)"])
        let newFile = try #require(fileStatus(path))
        old.send(signal: SIGTERM)
        #expect(old.waitForExit(timeout: 10 * Sanitizer.slowdown) == .exited(0))
        #expect(fileStatus(path)?.st_ino == newFile.st_ino, "the new server's file survives")
        #expect(try TestClient(unixPath: path).roundTrip(Array("new".utf8)))
        _ = new
    }

    /// A socket file whose listener is gone, as a killed process leaves it.
    private func leaveStaleSocket(at path: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path.utf8) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0 && listen(fd, 1) == 0
            }
        }
        close(fd)
        guard bound else { throw TestClientError("cannot make a stale socket at \(path)") }
    }
}
