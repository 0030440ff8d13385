/// Small helpers that keep error messages on one line and in one style.
enum MessageText {
    /// `'value'`, with control characters escaped so that a hostile value cannot break the
    /// message over several lines or send terminal escapes.
    static func quoted(_ text: String) -> String {
        "'" + escapingControlCharacters(text) + "'"
    }

    static func escapingControlCharacters(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.breaksLineOrControlsTerminal:
                result += "\\u{" + String(scalar.value, radix: 16) + "}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// ` Did you mean 'port'?` when `word` is one typo away from a candidate, else "".
    static func suggestion(for word: String, among candidates: [String], prefix: String = "") -> String {
        guard let match = closestMatch(to: word, among: candidates) else { return "" }
        return " Did you mean '\(prefix)\(match)'?"
    }

    /// The candidate fewest edits away (a swap of neighbours counts as one edit), if it is
    /// close enough to be a typo: one edit for short names, two for longer ones.
    static func closestMatch(to word: String, among candidates: [String]) -> String? {
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let allowed = candidate.count >= 8 ? 2 : 1
            let distance = editDistance(Array(word), Array(candidate))
            if distance <= allowed, distance < best?.distance ?? .max {
                best = (candidate, distance)
            }
        }
        return best?.candidate
    }

    /// Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of
    /// adjacent characters. Long inputs are not compared: nobody mistypes a 64-letter option.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        guard a.count <= 64, b.count <= 64 else { return .max }
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var table = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }
}
