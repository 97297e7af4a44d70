import NIOConcurrencyHelpers

/// Joins admitted and refused by reason (the `error` code sent), over all
/// connections, for the metrics. Counted once per `join` message, so a lock
/// is fine here: it is never on the media path.
public final class JoinOutcomes: Sendable {
    private struct Counts {
        var admitted = 0
        var refused: [String: Int] = [:]
    }
    private let counts = NIOLockedValueBox(Counts())

    /// Creates zeroed counts.
    public init() {}

    /// A join was admitted (the client got `joined`).
    public func admitted() { counts.withLockedValue { $0.admitted += 1 } }

    /// A join was refused with `code`.
    public func refused(_ code: ErrorCode) { counts.withLockedValue { $0.refused[code.rawValue, default: 0] += 1 } }

    /// Admitted joins, and refusals by wire code, so far.
    public var snapshot: (admitted: Int, refused: [String: Int]) {
        counts.withLockedValue { ($0.admitted, $0.refused) }
    }
}
