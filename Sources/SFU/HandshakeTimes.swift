import Wire

/// ICE and DTLS handshake durations waiting for the next metrics scrape.
///
/// One observation per participant and phase, so appending allocates at
/// joins, never per packet. The scrape takes them all (`take()`) into the
/// Prometheus histogram. Bounded: without a scrape (`--metrics off`) the
/// engine keeps at most `capacity` of each phase and counts the rest as
/// dropped, so memory stays flat however long it runs.
public struct HandshakeTimes: Sendable, Equatable {
    /// Which handshake.
    public enum Phase: String, Sendable, CaseIterable {
        /// Join answer to the first address ICE validated (RFC 8445 connectivity check).
        case ice
        /// That address to DTLS-SRTP keys (RFC 5764): the DTLS handshake.
        case dtls
    }

    /// Observations kept per phase until taken.
    public static let capacity = 1_024

    /// ICE handshake durations.
    public private(set) var ice: [TimeSpan] = []
    /// DTLS handshake durations.
    public private(set) var dtls: [TimeSpan] = []
    /// Observations not kept because `capacity` was reached.
    public private(set) var dropped = 0

    /// Creates an empty set.
    public init() {}

    /// Notes one handshake of `phase` that took `span`.
    mutating func record(_ phase: Phase, _ span: TimeSpan) {
        switch phase {
        case .ice: if ice.count < Self.capacity { ice.append(span) } else { dropped += 1 }
        case .dtls: if dtls.count < Self.capacity { dtls.append(span) } else { dropped += 1 }
        }
    }

    /// The durations of `phase`.
    public func durations(_ phase: Phase) -> [TimeSpan] { phase == .ice ? ice : dtls }

    /// Returns everything noted so far and starts empty.
    mutating func take() -> HandshakeTimes {
        defer { self = HandshakeTimes() }
        return self
    }
}
