import Foundation
import Glibc
import cecho
@testable import SwiftEcho
import Testing

/// The request-head parser of the metrics endpoint: pure, so every case is cheap.
@Suite struct HTTPRequestHeadTests {
    static func parse(_ text: String, limit: Int = 8192) -> HTTPRequestHead.Parse {
        HTTPRequestHead.parse(Array(text.utf8), limit: limit)
    }

    @Test func aRequestLineAndHeadersEndAtTheBlankLine() {
        #expect(Self.parse("GET /metrics?name=x HTTP/1.1\r\nHost: a\r\n\r\n")
            == .complete(HTTPRequestHead(method: "GET", path: "/metrics", version: "HTTP/1.1")))
        #expect(Self.parse("\r\nHEAD /readyz HTTP/1.0\nHost: a\n\n")
            == .complete(HTTPRequestHead(method: "HEAD", path: "/readyz", version: "HTTP/1.0")))
    }

    @Test func aHeadWithoutItsBlankLineWaitsUntilTheLimit() {
        #expect(Self.parse("GET /metrics HTTP/1.1\r\nHost: a\r\n") == .incomplete)
        #expect(Self.parse("GET /metrics HTTP/1.1\r\n") == .incomplete)
        #expect(Self.parse("\r\n\r\n") == .incomplete)  // blank lines before a request are skipped
        #expect(Self.parse(String(repeating: "x", count: 100), limit: 99) == .invalid(.headTooLarge))
        #expect(Self.parse("GET / HTTP/1.1\r\nA: \(String(repeating: "b", count: 100))\r\n\r\n", limit: 60)
            == .invalid(.headTooLarge))
    }

    @Test(arguments: ["GET /metrics\r\n\r\n", "GET  /metrics HTTP/1.1\r\n\r\n", "GET metrics HTTP/1.1\r\n\r\n",
                      "G(T / HTTP/1.1\r\n\r\n", "GET / FTP/1.0\r\n\r\n", "GET /\u{7f} HTTP/1.1\r\n\r\n"])
    func aMalformedRequestLineIsABadRequest(_ text: String) {
        #expect(Self.parse(text) == .invalid(.badRequest))
    }

    @Test func onlyHTTP1IsSpoken() {
        #expect(Self.parse("GET / HTTP/2.0\r\n\r\n") == .invalid(.versionNotSupported))
    }
}

/// The exposition text: escaping and numbers as Prometheus reads them.
@Suite struct PrometheusTextTests {
    @Test func labelsAndHelpAreEscaped() {
        var text = PrometheusText()
        text.family("echo_x_total", .counter, help: "a \\ b\nc")
        text.sample("echo_x_total", labels: [("k", "q\"\\\n")], UInt64.max)
        #expect(text.text == "# HELP echo_x_total a \\\\ b\\nc\n# TYPE echo_x_total counter\n"
            + "echo_x_total{k=\"q\\\"\\\\\\n\"} 18446744073709551615\n")
    }

    @Test func floatsUseGoSyntax() {
        #expect(PrometheusText.format(.infinity) == "+Inf")
        #expect(PrometheusText.format(-.infinity) == "-Inf")
        #expect(PrometheusText.format(.nan) == "NaN")
        #expect(PrometheusText.format(3) == "3")
        #expect(PrometheusText.format(0.25) == "0.25")
    }

    /// A counter added to the stats line must be added to /metrics too.
    @Test func everyStatsCounterIsExposedOnce() {
        let exposed = (StatsFamily.all + StatsFamily.serverWide).flatMap { $0.members.map(\.key) }
        #expect(Set(exposed) == Set(ServerStats().metadata.keys))
        #expect(exposed.count == Set(exposed).count)
    }
}

/// `--metrics`: the HTTP endpoint of a running server, over loopback.
@Suite(.serialized) struct MetricsEndpointTests {
    static func server(threads: Int = 1, _ change: (inout Configuration) -> Void = { _ in }) throws -> EchoServer {
        try startServer(.echo, framing: .raw) {
            $0.threads = threads
            $0.metrics = .tcp(host: "127.0.0.1", port: 0)
            change(&$0)
        }
    }

    /// The value of the sample `series` (its name and labels, as printed) in `text`.
    static func value(_ series: String, in text: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) }
    }

    @Test func metricsCountWhatTheLoopsServed() throws {
        let server = try Self.server(threads: 2)
        defer { try? server.stopAndWait() }
        let port = try #require(server.metricsAddress?.port)
        let clients = try (0..<4).map { _ in try TestClient(port: server.port) }
        for client in clients { #expect(try client.roundTrip(Array("ping".utf8))) }
        let reply = try httpGet(port: port, "/metrics")
        #expect(reply.status == 200)
        #expect(reply.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        #expect(reply.headers["content-length"] == "\(reply.body.utf8.count)")
        let perLoop = server.statsPerLoop
        for loop in 0..<2 {
            #expect(Self.value("echo_connections_accepted_total{loop=\"\(loop)\"}", in: reply.body)
                == Double(perLoop[loop].accepted))
            #expect(Self.value("echo_connections_active{loop=\"\(loop)\"}", in: reply.body) == Double(perLoop[loop].active))
        }
        #expect(perLoop.map(\.accepted).reduce(0, +) == 4)
        #expect(Self.value("echo_received_bytes_total{loop=\"0\"}", in: reply.body)! +
            Self.value("echo_received_bytes_total{loop=\"1\"}", in: reply.body)! == 16)
        #expect(Self.value("echo_loops", in: reply.body) == 2)
        #expect(Self.value("echo_ready", in: reply.body) == 1)
        #expect(reply.body.contains("# TYPE echo_connections_refused_total counter\n"))
        #expect(reply.body.contains("echo_build_info{version=\"\(CommandLineInterface.version)\",backend=\"\(server.backend!)\"} 1\n"))
        #expect(Self.value("echo_process_open_fds", in: reply.body).map { $0 > 0 } == true)
        clients.forEach { $0.close() }
    }

    /// With metrics on, every hook call is timed into a histogram: cumulative buckets ending at
    /// +Inf with every call, a sum, a count. promtool reads it (see promtoolAcceptsTheOutput).
    @Test func hookCallsAreTimedIntoAHistogram() throws {
        let server = try startServer(.map { $0.text.uppercased() }, framing: .raw) {
            $0.metrics = .tcp(host: "127.0.0.1", port: 0)
        }
        defer { try? server.stopAndWait() }
        let client = try TestClient(port: server.port)
        for index in 0..<5 {
            try client.send(Array("m\(index)".utf8))
            #expect(try client.receive(exactly: 2) == Array("M\(index)".utf8))
        }
        let body = try httpGet(port: try #require(server.metricsAddress?.port), "/metrics").body
        #expect(body.contains("# TYPE echo_hook_duration_seconds histogram\n"))
        let buckets = body.split(separator: "\n").filter { $0.hasPrefix("echo_hook_duration_seconds_bucket{loop=\"0\"") }
        let counts = buckets.compactMap { Double($0.split(separator: " ").last!) }
        #expect(counts.count == Int(CE_HOOK_BUCKETS) && counts == counts.sorted(), "\(buckets)")
        #expect(buckets.last?.hasPrefix("echo_hook_duration_seconds_bucket{loop=\"0\",le=\"+Inf\"} 5") == true)
        #expect(Self.value("echo_hook_duration_seconds_count{loop=\"0\"}", in: body) == 5)
        #expect(Self.value("echo_hook_duration_seconds_sum{loop=\"0\"}", in: body).map { $0 > 0 } == true)
        client.close()
    }

    @Test func otherPathsAndMethodsAreRefused() throws {
        let server = try Self.server()
        defer { try? server.stopAndWait() }
        let port = try #require(server.metricsAddress?.port)
        #expect(try httpGet(port: port, "/livez").status == 200)
        #expect(try httpGet(port: port, "/").status == 404)
        #expect(try httpGet(port: port, "/metrics/x").status == 404)
        let post = try httpGet(port: port, "/metrics", method: "POST")
        #expect(post.status == 405 && post.headers["allow"] == "GET, HEAD")
        let head = try httpGet(port: port, "/metrics", method: "HEAD")
        #expect(head.status == 200 && head.body.isEmpty && Int(head.headers["content-length"] ?? "") ?? 0 > 1000)
        #expect(try httpExchange(port: port, "GARBAGE\r\n\r\n")?.status == 400)
        let large = "GET /metrics HTTP/1.1\r\nX: " + String(repeating: "a", count: 9000) + "\r\n\r\n"
        #expect(try httpExchange(port: port, large)?.status == 431)
        #expect(server.stats.accepted == 0)  // the echo server saw none of this
    }

    /// A client that connects and says nothing, or drips its request, holds one connection of
    /// the metrics server's, for a bounded time, and never delays a scrape.
    @Test func slowClientsAreBoundedAndStallNothing() throws {
        let endpoints = MetricsEndpoints(metrics: { "m\n" }, isReady: { true })
        let limits = MetricsServer.Limits(idleTimeout: .milliseconds(400), requestTimeout: .milliseconds(600))
        let metrics = MetricsServer(address: .tcp(host: "127.0.0.1", port: 0), endpoints: endpoints,
                                    logger: Logger(label: "test", sink: CapturingSink()), limits: limits)
        try metrics.start()
        defer { metrics.stop(); metrics.wait() }
        let port = try #require(metrics.address?.port)
        let silent = try TestClient(port: port)
        let dripping = try TestClient(port: port)
        try dripping.send(Array("GET /metrics HTTP/1.1\r\n".utf8))
        let started = monotonicSeconds()
        #expect(try httpGet(port: port, "/metrics").body == "m\n")  // not behind either of them
        #expect(monotonicSeconds() - started < 0.3)
        var answer: [UInt8] = []
        for _ in 0..<8 {  // a header line every 200 ms: never idle, but past the request bound
            Thread.sleep(forTimeInterval: 0.2)
            try? dripping.send(Array("X: y\r\n".utf8))
        }
        answer = try dripping.receiveUntilClosed()
        #expect(HTTPReply(answer)?.status == 408)
        #expect(silent.outcome(within: 2) == .closed)
    }

    /// /readyz answers 503 from the moment a graceful stop begins, while a connection still
    /// drains; /livez and /metrics go on answering until the server has stopped.
    @Test func readinessEndsWhenAGracefulStopBegins() throws {
        let server = try Self.server { $0.shutdownTimeout = .seconds(10) }
        let port = try #require(server.metricsAddress?.port)
        #expect(try httpGet(port: port, "/readyz").status == 200)
        let holder = try TestClient(port: server.port)  // keeps the drain going until it closes
        #expect(try holder.roundTrip([1, 2, 3]))
        server.stop(graceful: true)
        let readyz = try httpGet(port: port, "/readyz")
        #expect(readyz.status == 503 && readyz.body == "not ready\n")
        #expect(try httpGet(port: port, "/livez").status == 200)
        #expect(Self.value("echo_ready", in: try httpGet(port: port, "/metrics").body) == 0)
        holder.close()
        try Background { server.wait() }.value(timeout: 10)
        #expect(throws: (any Error).self) { try TestClient(port: port, timeout: 1) }  // closed with the server
    }

    /// With a drain delay, a graceful stop makes the server unready at once but closes its
    /// listeners only after the delay: a balancer has that long to take it out.
    @Test func aDrainDelayKeepsAcceptingWhileNotReady() throws {
        let server = try Self.server { $0.drainDelay = .milliseconds(600) }
        let port = try #require(server.metricsAddress?.port)
        server.stop(graceful: true)
        server.stop(graceful: true)  // a repeated stop waits for the same delay
        #expect(try httpGet(port: port, "/readyz").status == 503)
        let late = try TestClient(port: server.port)  // accepted during the delay, and served
        #expect(try late.roundTrip(Array("still here".utf8)))
        #expect(waitUntil(timeout: 5) { (try? TestClient(port: server.port, timeout: 1)) == nil },
                "the listener is still open after the drain delay")
        late.close()
        try Background { server.wait() }.value(timeout: 10)
    }

    @Test(.enabled(if: Tool.runs("promtool"), "promtool is not installed (Debian package prometheus; .ci/run installs it)"))
    func promtoolAcceptsTheOutput() throws {
        let promtool = try #require(Tool.path("promtool"), "SWIFTECHO_REQUIRE_TOOLS is set, but promtool is missing")
        let server = try startServer(.map { $0.text }, framing: .raw) {  // a Swift hook: the histogram fills
            $0.threads = 2
            $0.metrics = .tcp(host: "127.0.0.1", port: 0)
        }
        defer { try? server.stopAndWait() }
        let client = try TestClient(port: server.port)
        #expect(try client.roundTrip(Array("hello".utf8)))
        let body = try httpGet(port: try #require(server.metricsAddress?.port), "/metrics").body
        let check = try Tool.run(promtool, ["check", "metrics"], input: body)
        #expect(check.status == 0, "promtool check metrics: \(check.output)")
        client.close()
    }

    /// The sample scrape configuration in contrib/ is one Prometheus accepts.
    @Test(.enabled(if: Tool.runs("promtool"), "promtool is not installed (Debian package prometheus; .ci/run installs it)"))
    func theContribScrapeConfigurationIsValid() throws {
        let promtool = try #require(Tool.path("promtool"), "SWIFTECHO_REQUIRE_TOOLS is set, but promtool is missing")
        let check = try Tool.run(promtool, ["check", "config", contribPath("prometheus/prometheus.yml")])
        #expect(check.status == 0, "promtool check config: \(check.output)")
    }

    @Test func aMetricsAddressInUseBindsNothing() throws {
        let held = try HeldPort()
        var configuration = Configuration(port: 0, metrics: .tcp(host: "127.0.0.1", port: held.port))
        configuration.framing = .raw
        let server = EchoServer(configuration: configuration, logger: Logger(label: "test", sink: CapturingSink()))
        let error = #expect(throws: EchoServerError.self) { try server.start() }
        let message = error?.description ?? ""
        #expect(message.hasPrefix("cannot listen on 127.0.0.1:\(held.port) (--metrics): ")
                && message.hasSuffix("Address already in use"), "names the metrics address as such: \(message)")
        #expect(server.localAddresses.isEmpty)
    }

    @Test func theMetricsAddressIsTCPOnly() {
        let error = refusal(["--metrics", "unix:/tmp/m.sock"])
        #expect(error?.message.contains("'--metrics'") == true && error?.message.contains("TCP only") == true)
        #expect(refusal(["--metrics", "9100"])?.message.contains("the port is missing") == true)
    }
}
