/// How the bytes of a connection are cut into messages.
public enum Framing: String, CaseIterable, Sendable {
    /// Each read is one message, as it arrives: the classic echo's behaviour. TCP keeps no
    /// message boundaries, so one send may arrive as several reads or several sends as one.
    case raw
    /// A message ends at `\n` or `\r\n`, which is not part of it; the reply ends the same way.
    case line
    /// A 4-byte big-endian payload length, then that many bytes; the reply is framed the same.
    case length
}
