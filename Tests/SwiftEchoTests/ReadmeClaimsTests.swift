import Foundation
import Testing
@testable import SwiftEcho

/// What README.md shows a user, held against what the code does.
@Suite struct ReadmeClaimsTests {
    static let readme: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return (try? String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)) ?? ""
    }()

    /// The first line of the Logs example is the daemon's own listening line, but for its time
    /// and port.
    @Test(.enabled(if: Backend.available.contains(.epoll), "the example is of the epoll backend"))
    func theLogsExampleIsWhatTheDaemonPrints() throws {
        let section = try #require(Self.readme.components(separatedBy: "### Logs\n").dropFirst().first)
        let example = try #require(section.components(separatedBy: "```\n").dropFirst().first?.split(separator: "\n").first)
        let daemon = try Daemon.serving(["--backend", "epoll"])
        let line = try #require(daemon.stderr.split(separator: "\n").first { $0.contains("listening on") })
        #expect(generic(line) == generic(example), "README: \(example)\ndaemon: \(line)")
    }

    /// The boolean forms README lists for the environment are accepted, each in any letter
    /// case, and others are refused.
    @Test func theBooleanFormsListedAreTheOnesAccepted() throws {
        let sentence = try #require(Self.readme.components(separatedBy: "A boolean (`--udp`)").dropFirst().first?
            .components(separatedBy: "in any letter case").first)
        // `true`/`false`, also `1`/`0`, …: each pair is an on and an off.
        let pairs = sentence.components(separatedBy: "`/`").dropLast().map { $0.split(separator: "`").last.map(String.init) ?? "" }
            .enumerated().map { index, on in
                (on, sentence.components(separatedBy: "`/`")[index + 1].split(separator: "`").first.map(String.init) ?? "")
            }
        #expect(pairs.map(\.0) == ["true", "1", "yes", "on"] && pairs.map(\.1) == ["false", "0", "no", "off"], "\(pairs)")
        for (on, off) in pairs {
            for text in [on, on.uppercased()] { #expect(try configuration([], environment: ["ECHO_UDP": text]).udp, "\(text)") }
            for text in [off, off.uppercased()] { #expect(try configuration([], environment: ["ECHO_UDP": text]).udp == false, "\(text)") }
        }
        for text in ["y", "n", "2", "enabled"] {
            #expect(throws: ConfigurationError.self, "\(text)") { try configuration([], environment: ["ECHO_UDP": text]) }
        }
    }

    /// A log line without its timestamp, its port replaced.
    private func generic(_ line: Substring) -> String {
        line.split(separator: " ").dropFirst().joined(separator: " ")
            .replacing(/127\.0\.0\.1:\d+/, with: "127.0.0.1:PORT")
    }
}
