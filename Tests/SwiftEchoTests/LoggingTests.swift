import Foundation
@testable import SwiftEcho
import Testing

/// Keeps every line and record it is given, from any thread.
final class CapturingSink: LogSink {
    struct Entry: Sendable {
        var line: String
        var record: LogRecord
    }

    private let entries = Locked<[Entry]>([])

    func emit(line: String, record: LogRecord) {
        entries.withLock { $0.append(Entry(line: line, record: record)) }
    }

    var lines: [String] { entries.withLock { $0.map(\.line) } }
    var records: [LogRecord] { entries.withLock { $0.map(\.record) } }
}

@Suite("Logging")
struct LoggingTests {
    static let fixedTime = LogTimestamp(year: 2026, month: 11, day: 27, hour: 4, minute: 15, second: 41, millisecond: 123)

    private func record(
        _ message: String, level: LogLevel = .info, label: String = "echo-cli", metadata: Logger.Metadata = [:]
    ) -> LogRecord {
        LogRecord(timestamp: Self.fixedTime, level: level, label: label, message: message, metadata: metadata)
    }

    // MARK: Levels

    @Test func levelsAreOrderedFromTraceToCritical() {
        #expect(LogLevel.allCases.map(\.rawValue) == ["trace", "debug", "info", "notice", "warning", "error", "critical"])
        #expect(LogLevel.allCases.sorted() == LogLevel.allCases)
        #expect(LogLevel.trace < .debug && LogLevel.error < .critical)
    }

    @Test func defaultLevelIsInfo() {
        let logger = Logger(label: "test", sink: CapturingSink())
        #expect(logger.logLevel == .info)
        #expect(!logger.isEnabled(.trace))
        #expect(!logger.isEnabled(.debug))
        #expect(logger.isEnabled(.info))
        #expect(logger.isEnabled(.critical))
    }

    @Test func disabledLevelsEvaluateNothing() {
        let sink = CapturingSink()
        let logger = Logger(label: "test", logLevel: .notice, sink: sink)
        var evaluations = 0
        func expensive() -> String {
            evaluations += 1
            return "built"
        }
        logger.trace(expensive(), metadata: ["key": expensive()])
        logger.debug(expensive(), metadata: ["key": expensive()])
        logger.info(expensive(), metadata: ["key": expensive()])
        logger.log(level: .info, expensive(), metadata: ["key": expensive()])
        #expect(evaluations == 0)
        #expect(sink.lines.isEmpty)

        logger.notice(expensive(), metadata: ["key": expensive()])
        #expect(evaluations == 2)
        #expect(sink.lines.count == 1)
    }

    @Test func eachLevelMethodLogsAtItsLevel() {
        let sink = CapturingSink()
        let logger = Logger(label: "test", logLevel: .trace, sink: sink)
        logger.trace("m")
        logger.debug("m")
        logger.info("m")
        logger.notice("m")
        logger.warning("m")
        logger.error("m")
        logger.critical("m")
        #expect(sink.records.map(\.level) == LogLevel.allCases)
    }

    @Test func prebuiltMessagesForTheCBridge() {
        let sink = CapturingSink()
        let logger = Logger(label: "cecho", logLevel: .warning, sink: sink)
        logger.log(level: .info, message: "dropped", metadata: ["conn.id": "1"])
        logger.log(level: .error, message: "accept failed", metadata: ["errno": "24"])
        #expect(sink.records.map(\.message) == ["accept failed"])
        #expect(sink.records.first?.metadata == ["errno": "24"])
    }

    @Test func configurationPicksLevelAndFormat() {
        let logger = Logger(label: "echo-cli", configuration: Configuration(logLevel: .debug, logFormat: .json))
        #expect(logger.logLevel == .debug)
        #expect(logger.format == .json)
    }

    // MARK: Metadata

    @Test func loggerMetadataIsMergedAndTheEventWins() {
        let sink = CapturingSink()
        var logger = Logger(label: "test", sink: sink)
        logger[metadataKey: "listener"] = "127.0.0.1:10000"
        logger[metadataKey: "conn.id"] = "1"
        #expect(logger[metadataKey: "listener"] == "127.0.0.1:10000")
        logger.info("hello", metadata: ["conn.id": "7"])
        logger[metadataKey: "listener"] = nil
        logger.info("bye")
        #expect(sink.records.map(\.metadata) == [["listener": "127.0.0.1:10000", "conn.id": "7"], ["conn.id": "1"]])
    }

    // MARK: Text format

    @Test func textLineShape() throws {
        let sink = CapturingSink()
        let logger = Logger(label: "echo-cli", sink: sink)
        logger.info("closing connection", metadata: ["peer.address": "127.0.0.1:5000", "conn.id": "7"])
        let line = try #require(sink.lines.first)
        let pattern = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z info echo-cli: conn\.id=7 peer\.address=127\.0\.0\.1:5000 closing connection/
        #expect(line.wholeMatch(of: pattern) != nil, "\(line)")
    }

    @Test func textLineWithFixedTimeAndSortedKeys() {
        let line = record("closing connection", metadata: ["z": "1", "a": "2", "m.n": "3"]).formatted(as: .text)
        #expect(line == "2026-11-27T04:15:41.123Z info echo-cli: a=2 m.n=3 z=1 closing connection")
    }

    @Test func textLineWithoutMetadata() {
        #expect(record("ready", level: .notice).formatted(as: .text) == "2026-11-27T04:15:41.123Z notice echo-cli: ready")
    }

    @Test(arguments: [
        ("plain", "plain"), ("a b", #""a b""#), ("a=b", #""a=b""#), (#"say "hi""#, #""say \"hi\"""#),
        ("", #""""#), ("two\nlines", #""two\nlines""#), (#"back\slash"#, #""back\\slash""#),
        ("héllo→", "héllo→"), ("[::1]:7", "[::1]:7"),
    ])
    func textValuesAreQuotedWhenAmbiguous(value: String, written: String) {
        #expect(record("m", metadata: ["k": value]).formatted(as: .text).hasSuffix(" echo-cli: k=\(written) m"))
    }

    @Test func newlinesInMessagesCannotForgeLines() {
        let line = record("evil\n2026-01-01T00:00:00.000Z critical echo-cli: forged").formatted(as: .text)
        #expect(!line.contains("\n"))
        #expect(line.hasSuffix(#"echo-cli: evil\n2026-01-01T00:00:00.000Z critical echo-cli: forged"#))
    }

    /// NEL, U+2028/2029 end a line for Unicode-aware readers and C1 holds terminal escapes
    /// (U+009B is CSI): in a message, a label or a value they are escaped, never written raw.
    @Test func unicodeLineBreaksAndC1ControlsAreEscaped() {
        let hostile = "a\u{85}b\u{2028}c\u{2029}d\u{9B}31m"
        let text = record(hostile, metadata: ["peer": hostile]).formatted(as: .text)
        let json = record(hostile, label: hostile).formatted(as: .json)
        for line in [text, json] {
            #expect(!line.unicodeScalars.contains { [0x85, 0x9B, 0x2028, 0x2029].contains($0.value) }, "\(line)")
        }
        #expect(text.hasSuffix(#" a\u0085b\u2028c\u2029d\u009b31m"#))
        #expect(json.contains(#""message":"a\u0085b\u2028c\u2029d\u009b31m""#))
    }

    // MARK: JSON format

    @Test func jsonLineShape() {
        let line = record("closing connection", metadata: ["peer.address": "127.0.0.1:5000", "conn.id": "7"]).formatted(as: .json)
        #expect(line == #"{"timestamp":"2026-11-27T04:15:41.123Z","level":"info","label":"echo-cli","message":"closing connection","conn.id":"7","peer.address":"127.0.0.1:5000"}"#)
    }

    @Test func jsonEscapingRoundTrips() throws {
        let message = "quote \" backslash \\ newline \n tab \t bell \u{07} nul \u{00} del \u{7F} é 😀 \u{2028}"
        let metadata = ["weird key \"\n": "value\u{1F}", "emoji": "🦉"]
        let line = record(message, label: "lab\"el", metadata: metadata).formatted(as: .json)
        #expect(!line.contains("\n"))
        #expect(line.contains(#"\u0007"#) && line.contains(#"\u0000"#) && line.contains(#"\u001f"#))
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object["message"] == message)
        #expect(object["label"] == "lab\"el")
        #expect(object["level"] == "info")
        #expect(object["timestamp"] == "2026-11-27T04:15:41.123Z")
        #expect(object["weird key \"\n"] == "value\u{1F}")
        #expect(object["emoji"] == "🦉")
        #expect(object.count == 6)
    }

    @Test func jsonMetadataNeverOverwritesTheFixedFields() throws {
        let line = record("real", metadata: ["message": "fake", "level": "fake"]).formatted(as: .json)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object["message"] == "real")
        #expect(object["metadata.message"] == "fake")
        #expect(object["metadata.level"] == "fake")
    }

    @Test func loggerWritesJSONWhenAsked() throws {
        let sink = CapturingSink()
        let logger = Logger(label: "echo-cli", format: .json, sink: sink)
        logger.warning("slow reader", metadata: ["conn.id": "3"])
        let line = try #require(sink.lines.first)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object["level"] == "warning")
        #expect(object["conn.id"] == "3")
    }

    // MARK: Timestamps

    @Test func timestampIsZeroPadded() {
        let time = LogTimestamp(year: 2026, month: 1, day: 2, hour: 3, minute: 4, second: 5, millisecond: 7)
        #expect(time.iso8601 == "2026-01-02T03:04:05.007Z")
    }

    @Test func timestampIsTheCurrentUTCTime() throws {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let parsed = try #require(formatter.date(from: LogTimestamp.now().iso8601))
        #expect(abs(parsed.timeIntervalSinceNow) < 5)
    }

    // MARK: Threads

    @Test func linesFromManyThreadsStayWhole() {
        let sink = CapturingSink()
        let logger = Logger(label: "test", sink: sink)
        runConcurrently(threads: 8) { thread in
            for index in 0..<200 {
                logger.info("message \(index)", metadata: ["thread": "\(thread)"])
            }
        }
        let lines = sink.lines
        #expect(lines.count == 1600)
        #expect(lines.allSatisfy { $0.contains(/\ info test: thread=\d message \d+$/) })
    }

    /// Lines larger than the pipe's 64 KiB buffer, which the kernel writes in pieces and lets
    /// other writers interleave with, from several threads: each must still arrive whole.
    @Test func standardErrorSinkNeverInterleavesLargeLines() throws {
        var descriptors: [Int32] = [0, 0]
        try #require(pipe(&descriptors) == 0)
        let (readEnd, writeEnd) = (descriptors[0], descriptors[1])
        // A thread of its own, not a task: blocked writers must never wait on a task pool that
        // other tests may be holding.
        let reader = Background { () -> [UInt8] in
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = read(readEnd, &buffer, buffer.count)
                if count > 0 {
                    received += buffer[..<count]
                } else if count < 0 && errno == EINTR {
                    continue
                } else {
                    return received
                }
            }
        }

        // The sink is called directly with lines built beforehand: formatting 150 KB lines takes
        // long enough in a debug build that the writes would seldom overlap.
        let threads = 4, linesPerThread = 8, payload = 150_000
        let sink = StandardErrorSink(fileDescriptor: writeEnd)
        let lines = (0..<threads).map { thread in
            let letter = String(UnicodeScalar(UInt8(ascii: "a") + UInt8(thread)))
            return record(String(repeating: letter, count: payload), label: "pipe", metadata: ["thread": letter])
        }.map { ($0.formatted(as: .text), $0) }
        runConcurrently(threads: threads) { thread in
            for _ in 0..<linesPerThread {
                sink.emit(line: lines[thread].0, record: lines[thread].1)
            }
        }
        close(writeEnd)
        let output = String(decoding: try reader.value(timeout: 60), as: UTF8.self)
        close(readEnd)

        let received = output.split(separator: "\n")
        #expect(output.hasSuffix("\n"))
        #expect(received.count == threads * linesPerThread)
        for line in received {
            // "<timestamp> info pipe: thread=a aaaa…": split by hand, Regex is slow on 20 KB lines.
            let fields = line.split(separator: " ")
            guard fields.count == 5, fields[1] == "info", fields[2] == "pipe:", fields[3].hasPrefix("thread=") else {
                Issue.record("mangled line of \(line.utf8.count) bytes")
                continue
            }
            let letter = fields[3].utf8.last
            #expect(fields[4].utf8.count == payload)
            #expect(fields[4].utf8.allSatisfy { $0 == letter })
        }
    }
}
