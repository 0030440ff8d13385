extension String {
    /// The text as one shell word: as it is when it is plain, else in single quotes.
    var shellQuoted: String {
        let plain = allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,+@".contains($0) }
        return plain && !isEmpty ? self : "'" + replacing("'", with: "'\\''") + "'"
    }
}
