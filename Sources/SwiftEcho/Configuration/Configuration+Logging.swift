// Glue between the configuration and logging, kept here so that Logging/ stands alone.

extension Logger {
    /// A logger with the configuration's level and format.
    public init(label: String, configuration: Configuration, sink: any LogSink = StandardErrorSink()) {
        self.init(label: label, logLevel: configuration.logLevel, format: configuration.logFormat, sink: sink)
    }
}

extension Configuration {
    /// Every setting by its option name, as it would be typed: `["port": "10000",
    /// "output-limit": "256KiB", …]`. Handy as metadata for a "starting" log line.
    public var loggingMetadata: Logger.Metadata {
        var metadata: Logger.Metadata = [:]
        for setting in Self.settingsTable.settings {
            metadata[setting.name] = setting.describe(self).joined(separator: ",")
        }
        return metadata
    }
}
