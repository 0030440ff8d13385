/// The statuses the metrics endpoint answers with.
enum HTTPStatus: Int, Sendable, Equatable {
    case ok = 200
    case badRequest = 400
    case notFound = 404
    case methodNotAllowed = 405
    case requestTimeout = 408
    case headTooLarge = 431
    case serviceUnavailable = 503
    case versionNotSupported = 505

    var reason: String {
        switch self {
        case .ok: "OK"
        case .badRequest: "Bad Request"
        case .notFound: "Not Found"
        case .methodNotAllowed: "Method Not Allowed"
        case .requestTimeout: "Request Timeout"
        case .headTooLarge: "Request Header Fields Too Large"
        case .serviceUnavailable: "Service Unavailable"
        case .versionNotSupported: "HTTP Version Not Supported"
        }
    }
}

/// A whole response, always with `Content-Length` and `Connection: close`: one request per
/// connection keeps the server's state to one request head.
struct HTTPResponse: Sendable, Equatable {
    var status: HTTPStatus
    var contentType = "text/plain; charset=utf-8"
    var extraHeaders: [String] = []
    var body: String

    /// A short plain-text answer: the body is the reason, or `text`, and a newline.
    init(_ status: HTTPStatus, _ text: String? = nil, extraHeaders: [String] = []) {
        self.status = status
        self.extraHeaders = extraHeaders
        body = (text ?? status.reason.lowercased()) + "\n"
    }

    init(status: HTTPStatus, contentType: String, body: String) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    /// The bytes on the wire; for HEAD (`includeBody` false), the headers alone, with the
    /// length the body would have.
    func serialized(includeBody: Bool) -> String {
        var head = "HTTP/1.1 \(status.rawValue) \(status.reason)\r\n"
        head += "Content-Type: \(contentType)\r\n"
        head += "Content-Length: \(body.utf8.count)\r\n"
        for header in extraHeaders { head += header + "\r\n" }
        head += "Connection: close\r\n\r\n"
        return includeBody ? head + body : head
    }
}
