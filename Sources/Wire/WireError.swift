/// Errors from reading bytes that a peer sent. Every parser in Cohort maps
/// malformed input to a typed error; none of them traps on peer input.
public enum WireError: Error, Equatable, Sendable {
    /// The input ended before a field that must be present (`needed` more bytes at `offset`).
    case truncated(offset: Int, needed: Int)
    /// A length field points past the end of its container.
    case lengthOverrun(field: String)
    /// A field holds a value the protocol forbids.
    case invalidValue(field: String)
}
