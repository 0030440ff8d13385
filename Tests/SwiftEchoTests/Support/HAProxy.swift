import Foundation
import Glibc

/// Debian's haproxy in TCP mode in front of echo-cli instances, on loopback, run in the
/// foreground as a child process (killed if a test leaves it running). Its health checks ask
/// each instance's `/readyz`; its admin socket says what it thinks of each server.
final class HAProxy {
    /// One backend server: where it echoes and where its metrics and health are served.
    struct Server {
        var name: String
        var port: Int
        var metricsPort: Int
    }

    let directory: TemporaryDirectory
    let process: Daemon
    /// Where clients connect.
    let port: Int

    /// Starts haproxy balancing round-robin over `servers`, each with `serverOptions` (such as
    /// `send-proxy-v2`), checked every 100 ms on `/readyz` (one failure marks a server down,
    /// one success up), and waits until it accepts and sees every server up. A connection a
    /// server refuses is retried on another (redispatch), after 200 ms.
    init(servers: [Server], serverOptions: String = "", timeout: Double = 10) throws {
        guard let binary = Tool.path("haproxy") else { throw TestClientError("haproxy is not installed") }
        directory = try TemporaryDirectory()
        port = try Self.freePort()
        let lines = servers.map {
            "    server \($0.name) 127.0.0.1:\($0.port) check port \($0.metricsPort) \(serverOptions)"
        }
        let configuration = """
            global
                maxconn 2000
                stats socket \(directory.file("admin.sock")) mode 600 level admin
            defaults
                mode tcp
                timeout connect 200ms
                timeout check 2s
                timeout client 30s
                timeout server 30s
                retries 3
                option redispatch 1
            frontend echo
                bind 127.0.0.1:\(port)
                default_backend instances
            backend instances
                balance roundrobin
                option httpchk GET /readyz
                http-check expect status 200
                default-server inter 100ms fall 1 rise 1
            \(lines.joined(separator: "\n"))

            """
        try configuration.write(toFile: directory.file("haproxy.cfg"), atomically: true, encoding: .utf8)
        process = try Daemon(["-db", "-f", directory.file("haproxy.cfg")], program: binary)
        let ready = waitUntil(timeout: timeout) {
            (try? TestClient(port: self.port, timeout: 1)).map { $0.close(); return true } ?? false
        }
        // UP from the start, until a check says otherwise: wait for each one's first check to pass.
        guard ready, waitUntil(timeout: timeout, {
            let rows = self.table()
            return servers.allSatisfy { rows[$0.name]?["status"] == "UP" && rows[$0.name]?["check_status"] == "L7OK" }
        }) else {
            throw TestClientError("haproxy not serving with every server up within \(timeout) s: \(statuses());"
                                  + " its output:\n\(process.stderr)\(process.stdout)")
        }
    }

    /// What haproxy thinks of server `name` now: "UP", "DOWN", … (the status column of
    /// `show stat`), nil if it cannot say.
    func status(of name: String) -> String? {
        statuses()[name]
    }

    /// Every backend server's status, by name.
    func statuses() -> [String: String] {
        table().compactMapValues { $0["status"] }
    }

    /// Every backend server's row of `show stat`, by name: each column by its header's name.
    func table() -> [String: [String: String]] {
        guard let client = try? TestClient(unixPath: directory.file("admin.sock"), timeout: 2) else { return [:] }
        defer { client.close() }
        guard (try? client.send(Array("show stat\n".utf8))) != nil,
              let bytes = try? client.receiveUntilClosed() else { return [:] }
        let rows = String(decoding: bytes, as: UTF8.self).split(separator: "\n")
        guard let header = rows.first?.dropFirst(2).split(separator: ",", omittingEmptySubsequences: false),
              let name = header.firstIndex(of: "svname") else { return [:] }
        var result: [String: [String: String]] = [:]
        for row in rows.dropFirst() {
            let fields = row.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == header.count, fields[0] == "instances", fields[name] != "BACKEND" else { continue }
            result[String(fields[name])] = Dictionary(uniqueKeysWithValues: zip(header.map(String.init), fields.map(String.init)))
        }
        return result
    }

    /// A loopback port free now (bound, then released, so haproxy can take it).
    private static func freePort() throws -> Int {
        let held = try HeldPort(listening: false)
        return held.port
    }
}

extension Daemon {
    /// The port of the daemon's `--metrics` endpoint, from its `metrics on` line.
    var metricsPort: Int? {
        guard let line = stderr.split(separator: "\n").first(where: { $0.contains("metrics on http://") }),
              let url = line.split(separator: "metrics on http://").last else { return nil }
        return Int(url.split(separator: "/")[0].split(separator: ":").last ?? "")
    }
}
