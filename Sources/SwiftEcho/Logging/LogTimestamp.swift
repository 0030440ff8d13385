#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A wall-clock instant in UTC, to the millisecond, as log lines print it.
public struct LogTimestamp: Sendable, Equatable {
    /// The year, e.g. 2026.
    public var year: Int
    /// 1...12.
    public var month: Int
    /// 1...31.
    public var day: Int
    /// 0...23.
    public var hour: Int
    /// 0...59.
    public var minute: Int
    /// 0...60 (60 only for a leap second).
    public var second: Int
    /// 0...999.
    public var millisecond: Int

    /// A timestamp with the given UTC fields.
    public init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, millisecond: Int) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
        self.millisecond = millisecond
    }

    /// The current time, from `clock_gettime(CLOCK_REALTIME)` broken down by `gmtime_r`.
    public static func now() -> LogTimestamp {
        var time = timespec()
        _ = clock_gettime(CLOCK_REALTIME, &time)  // cannot fail for CLOCK_REALTIME
        var seconds = time.tv_sec
        var fields = tm()
        _ = gmtime_r(&seconds, &fields)
        return LogTimestamp(
            year: Int(fields.tm_year) + 1900, month: Int(fields.tm_mon) + 1, day: Int(fields.tm_mday),
            hour: Int(fields.tm_hour), minute: Int(fields.tm_min), second: Int(fields.tm_sec),
            millisecond: Int(time.tv_nsec) / 1_000_000)
    }

    /// ISO 8601 in UTC with milliseconds: `2026-11-27T04:15:41.123Z`.
    public var iso8601: String {
        "\(padded(year, 4))-\(padded(month, 2))-\(padded(day, 2))"
            + "T\(padded(hour, 2)):\(padded(minute, 2)):\(padded(second, 2))"
            + ".\(padded(millisecond, 3))Z"
    }

    private func padded(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
