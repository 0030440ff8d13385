extension Configuration {
    /// Checks every value against the same rules the command line applies, then checks that
    /// this platform has the chosen backend.
    ///
    /// The server calls this with the backends it was built with; a configuration built in
    /// code (not parsed) is checked here too.
    /// - Throws: a `.usage` ``ConfigurationError`` naming the first bad setting, e.g.
    ///   "The value 'kqueue' is invalid for '--backend': this platform has auto, select, poll,
    ///   epoll."
    public func validate(availableBackends: Set<Backend>) throws(ConfigurationError) {
        // Printing each value and parsing it back runs it through the settings table, the one
        // place that knows the rules.
        for setting in Self.settingsTable.settings {
            let values = setting.describe(self)
            var scratch = self
            do throws(ValueRejection) {
                try setting.assign(&scratch, values)
            } catch {
                throw .usage(
                    "The value \(MessageText.quoted(values[error.index])) is invalid for"
                        + " '\(setting.flag)': \(error.explanation).")
            }
        }
        try checkNoAddressRepeats()
        guard availableBackends.contains(backend) else {
            let names = Backend.allCases.filter(availableBackends.contains).map(\.rawValue)
            throw .usage(
                "The value '\(backend.rawValue)' is invalid for '--backend': this platform has"
                    + " \(names.isEmpty ? "none" : names.joined(separator: ", ")).")
        }
    }

    /// The same socket twice in `listen` would fail as "in use", by ourselves: say what it is.
    /// Port 0 is not a repeat, since each picks a free port of its own. `source` names where
    /// the list came from.
    func checkNoAddressRepeats(source: String = "'--listen'") throws(ConfigurationError) {
        var seen = Set<ListenAddress>()
        for address in listen {
            if case .tcp(_, 0) = address { continue }
            guard seen.insert(address).inserted else {
                throw .usage("The value \(MessageText.quoted(address.description)) is given twice for \(source).")
            }
        }
    }
}
