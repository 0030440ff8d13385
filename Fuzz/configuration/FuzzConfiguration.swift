// libFuzzer harness for the configuration: command line, ECHO_* environment, the JSON file and
// validate(), compiled by Fuzz/run together with Sources/SwiftEcho/Configuration and Logging.
//
// The input is split at NUL bytes. The first part is the configuration file's text; every
// later part starting with "$" is an environment variable "NAME=VALUE", every other part is a
// command-line argument. The file is read only when --config or ECHO_CONFIG names it; the
// path "unreadable" fails to read.
//
// The property: every input is either accepted or refused with a ConfigurationError whose
// message is one non-empty line, never a trap. An accepted configuration passes validate() on a
// platform with its backend, and printing each setting and parsing it back gives the same
// configuration.

/// Why the harness stops: a broken property, reported like a crash so that libFuzzer keeps the
/// input.
func violated(_ what: String, _ input: [UInt8]) -> Never {
    fatalError("fuzz_configuration: property violated: \(what); input \(input)")
}

struct UnreadableFile: Error, CustomStringConvertible {
    var description: String { "Permission denied" }
}

/// The fuzz input as a command line, an environment and a file.
struct FuzzInvocation {
    var file: [UInt8] = []
    var arguments: [String] = []
    var environment: [String: String] = [:]

    init(_ bytes: [UInt8]) {
        let parts = bytes.split(separator: 0, omittingEmptySubsequences: false)
        file = Array(parts.first ?? [])
        for part in parts.dropFirst() {
            let text = String(decoding: part, as: UTF8.self)
            if text.first == "$" {
                let entry = text.dropFirst()
                let name = entry.prefix { $0 != "=" }
                let value = entry.dropFirst(name.count + 1)
                environment[String(name)] = String(value)
            } else {
                arguments.append(text)
            }
        }
    }
}

func checkRefusal(_ error: ConfigurationError, _ input: [UInt8]) {
    if error.message.isEmpty { violated("an error without a message", input) }
    if error.message.contains(where: \.isNewline) { violated("an error message over several lines", input) }
    if error.formattedForStderr.split(separator: "\n", omittingEmptySubsequences: false).count != 2 {
        violated("an error that is not two lines on stderr", input)
    }
}

/// What an accepted configuration must satisfy.
func checkAccepted(_ configuration: Configuration, selector: UInt8, _ input: [UInt8]) {
    do throws(ConfigurationError) {
        try configuration.validate(availableBackends: Set(Backend.allCases))
    } catch {
        violated("a parsed configuration failed validate(): \(error.message)", input)
    }

    // A platform with only some backends: refused exactly when the chosen one is missing.
    let available = Set(Backend.allCases.enumerated().filter { selector >> $0.offset & 1 == 1 }.map(\.element))
    do throws(ConfigurationError) {
        try configuration.validate(availableBackends: available)
        if !available.contains(configuration.backend) { violated("validate() accepted a missing backend", input) }
    } catch {
        checkRefusal(error, input)
        if available.contains(configuration.backend) { violated("validate() refused an available backend", input) }
    }

    // Print every setting and parse it back over the defaults: the same configuration.
    let table = Configuration.settingsTable
    var reparsed = table.defaults
    for setting in table.settings {
        do throws(ValueRejection) {
            try setting.assign(&reparsed, setting.describe(configuration))
        } catch {
            violated("'\(setting.name)' does not parse back what it prints", input)
        }
    }
    if reparsed != configuration { violated("printing and parsing back changed the configuration", input) }
    _ = configuration.loggingMetadata
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfiguration(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let invocation = FuzzInvocation(bytes)

    // The JSON reader on its own: a value, or a syntax error with a position.
    do throws(JSONReader.SyntaxError) {
        _ = try JSONReader.parse(invocation.file)
    } catch {
        if error.reason.isEmpty || error.line < 1 || error.column < 1 { violated("a syntax error without a place", bytes) }
    }

    do throws(ConfigurationError) {
        let result = try CommandLineInterface.parse(
            arguments: invocation.arguments, environment: invocation.environment,
            readFile: { path in
                if path == "unreadable" { throw UnreadableFile() }
                return invocation.file
            })
        switch result {
        case .serve(let configuration):
            checkAccepted(configuration, selector: bytes.last ?? 0xff, bytes)
        case .help(let text):
            if text.isEmpty { violated("empty help", bytes) }
        case .version(let version):
            if version != CommandLineInterface.version { violated("a wrong version", bytes) }
        }
    } catch {
        checkRefusal(error, bytes)
    }
    return 0
}
