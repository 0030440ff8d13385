#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where and when a suite ran, for the head of its report.
struct MachineInfo: Sendable {
    var date: String
    var cores: Int
    var cpuModel: String
    var kernel: String

    static func current() -> MachineInfo {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        let pad = { (value: Int32) in value < 10 ? "0\(value)" : "\(value)" }
        let date = "\(parts.tm_year + 1900)-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday)) "
            + "\(pad(parts.tm_hour)):\(pad(parts.tm_min)) UTC"
        var names = utsname()
        uname(&names)
        let kernel = withUnsafeBytes(of: names.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let model = ProcessProbe.readText("/proc/cpuinfo")?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last?.trimmingPrefix(" ") ?? "unknown"
        return MachineInfo(date: date, cores: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))),
                           cpuModel: String(model), kernel: kernel)
    }
}
