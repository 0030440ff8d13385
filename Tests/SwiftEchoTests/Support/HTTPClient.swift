/// An HTTP response as a test reads it off the wire.
struct HTTPReply: Sendable, CustomStringConvertible {
    var status: Int
    /// Header fields, names lower-cased.
    var headers: [String: String]
    var body: String

    var description: String { "\(status) \(headers) \(body.prefix(200))" }

    /// Parses a whole response (the server closes after it); nil if it is not one.
    init?(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { return nil }
        let lines = text[..<split.lowerBound].split(separator: "\r\n")
        guard let first = lines.first, first.hasPrefix("HTTP/1.1 "),
              let status = Int(first.dropFirst(9).prefix(3)) else { return nil }
        self.status = status
        headers = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingPrefix(" ").description
        }
        body = String(text[split.upperBound...])
    }
}

/// Sends `request` (raw bytes, so tests can send anything) to 127.0.0.1:`port` and reads until
/// the server closes: the response, or nil when the bytes are not one.
func httpExchange(port: Int, _ request: String, timeout: Double = 5) throws -> HTTPReply? {
    let client = try TestClient(port: port, timeout: timeout)
    defer { client.close() }
    try client.send(Array(request.utf8))
    return HTTPReply(try client.receiveUntilClosed())
}

/// `GET path` (or another method), as Prometheus or a balancer's health check asks.
func httpGet(port: Int, _ path: String, method: String = "GET", timeout: Double = 5) throws -> HTTPReply {
    let request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUser-Agent: test\r\nAccept: */*\r\n\r\n"
    guard let reply = try httpExchange(port: port, request, timeout: timeout) else {
        throw TestClientError("\(method) \(path): not an HTTP response")
    }
    return reply
}
