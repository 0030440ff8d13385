@testable import SwiftEcho
import Testing

/// Seeded random inputs: the parsers must accept or refuse every one of them, never trap.
/// (Not a fuzzer; a cheap guard until the real fuzzing runs.)
@Suite("Robustness")
struct RobustnessTests {
    @Test func randomCommandLines() {
        var random = SplitMix(seed: 1)
        let words = [
            "serve", "help", "--", "-", "-h", "--port", "--port=", "--host", "--backend", "--output-limit",
            "--write-timeout", "--config", "--log-level", "--version=x", "--prot", "-1", "0", "65535", "65536",
            "1.5", "64KiB", "1e3", "", "=", "--=", "epoll", "\u{00}", "🦉", "99999999999999999999", ".", "x.json",
        ]
        for _ in 0..<3000 {
            let arguments = (0..<Int.random(in: 0...6, using: &random)).map { _ in words.randomElement(using: &random)! }
            let environment = Bool.random(using: &random)
                ? ["ECHO_PORT": words.randomElement(using: &random)!, "ECHO_CONFIG": "x.json"] : [:]
            _ = try? parse(arguments, environment: environment, files: ["x.json": #"{"port": 1}"#])
        }
    }

    @Test func randomConfigurationFiles() {
        var random = SplitMix(seed: 2)
        let pieces = Array(#"{}[],:"\ 0123456789.-+eEtruefalsnul\u{}port"output-limit"#.utf8) + [0x00, 0x0A, 0xC3, 0xA9, 0xFF]
        for _ in 0..<5000 {
            let bytes = (0..<Int.random(in: 0...40, using: &random)).map { _ in pieces.randomElement(using: &random)! }
            _ = try? CommandLineInterface.parse(arguments: ["--config", "f"], environment: [:]) { _ in bytes }
        }
    }

    @Test func mutatedValidFiles() {
        var random = SplitMix(seed: 3)
        let valid = Array(#"{"port": 7000, "output-limit": "64KiB", "write-timeout": 1.5, "host": "::1", "backend": "poll"}"#.utf8)
        for _ in 0..<5000 {
            var bytes = valid
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            _ = try? CommandLineInterface.parse(arguments: ["--config", "f"], environment: [:]) { _ in bytes }
        }
    }
}
