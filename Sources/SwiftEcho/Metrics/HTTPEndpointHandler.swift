/// What the metrics endpoint serves: `/metrics` (the text `metrics` returns), `/livez` (200
/// while the process runs) and `/readyz` (200 while `isReady` says so, else 503). GET and HEAD
/// only; any other path is 404, any other method on these 405.
struct MetricsEndpoints: Sendable {
    let metrics: @Sendable () -> String
    let isReady: @Sendable () -> Bool

    static let paths: Set<String> = ["/metrics", "/livez", "/readyz"]

    func response(to request: HTTPRequestHead) -> HTTPResponse {
        guard Self.paths.contains(request.path) else { return HTTPResponse(.notFound) }
        guard request.method == "GET" || request.method == "HEAD" else {
            return HTTPResponse(.methodNotAllowed, extraHeaders: ["Allow: GET, HEAD"])
        }
        switch request.path {
        case "/metrics": return HTTPResponse(status: .ok, contentType: PrometheusText.contentType, body: metrics())
        case "/livez": return HTTPResponse(.ok, "live")
        default: return isReady() ? HTTPResponse(.ok, "ready") : HTTPResponse(.serviceUnavailable, "not ready")
        }
    }
}

/// One HTTP connection to the metrics endpoint, written against the server's own hook API
/// (raw framing: each read is a message): collects the request head up to a bound, answers,
/// and closes. A head that is too large, malformed, or not complete within `requestTimeout`
/// of the connection's start (a client dripping bytes) gets its 4xx status and the connection
/// closes; a silent client meets the server's idle timeout. Bytes after the head (a body, a
/// pipelined request) are not read.
final class HTTPEndpointHandler: ConnectionHandler {
    /// Request line and header fields together; Prometheus and HAProxy send a few hundred bytes.
    static let headLimit = 8 * 1024

    private let endpoints: MetricsEndpoints
    private let requestTimeout: Duration
    private let opened = ContinuousClock.now
    private var head: [UInt8] = []
    private var answered = false

    init(endpoints: MetricsEndpoints, requestTimeout: Duration) {
        self.endpoints = endpoints
        self.requestTimeout = requestTimeout
    }

    func messageReceived(_ message: borrowing Message, reply: inout Reply) {
        guard !answered else {
            reply.decline()
            return
        }
        let room = Self.headLimit + 1 - head.count  // one byte past the limit is enough to know
        message.withUnsafeBytes { head.append(contentsOf: $0.prefix(max(0, room))) }
        var response: HTTPResponse
        var includeBody = true
        switch HTTPRequestHead.parse(head, limit: Self.headLimit) {
        case .incomplete:
            guard ContinuousClock.now - opened > requestTimeout else {
                reply.decline()
                return
            }
            response = HTTPResponse(.requestTimeout)
        case .invalid(let status):
            response = HTTPResponse(status)
        case .complete(let request):
            response = endpoints.response(to: request)
            includeBody = request.method != "HEAD"
        }
        answered = true
        reply.write(response.serialized(includeBody: includeBody))
        reply.closeConnection()
    }
}
