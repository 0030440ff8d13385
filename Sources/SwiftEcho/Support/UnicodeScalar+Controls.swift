extension Unicode.Scalar {
    /// C0 and C1 controls, DEL, and the Unicode line and paragraph separators. NEL (U+0085),
    /// U+2028 and U+2029 end a line for Unicode-aware readers, and C1 holds the 8-bit terminal
    /// escapes (U+009B is CSI): none may reach a log line or an error message unescaped.
    var breaksLineOrControlsTerminal: Bool {
        value < 0x20 || (0x7F...0x9F).contains(value) || value == 0x2028 || value == 0x2029
    }
}
