/// Who sent a packet, packed into the probe's 32-bit origin field:
/// session (16 bits), member within the session (8 bits), incarnation
/// (8 bits; a rejoin is a new incarnation with fresh probe counters).
///
/// Because the session is in the packet, a receiver checks isolation with
/// no shared state: media from another session is always a violation.
public struct OriginID: Hashable, Sendable, CustomStringConvertible {
    /// Session index in the run.
    public var session: Int
    /// Member index within the session (0 is the host).
    public var member: Int
    /// How many times this member joined before.
    public var incarnation: Int

    /// Creates an origin; values are masked to their field widths.
    public init(session: Int, member: Int, incarnation: Int) {
        self.session = session & 0xFFFF
        self.member = member & 0xFF
        self.incarnation = incarnation & 0xFF
    }

    /// Unpacks a probe's origin field.
    public init(raw: UInt32) {
        session = Int(raw >> 16)
        member = Int(raw >> 8 & 0xFF)
        incarnation = Int(raw & 0xFF)
    }

    /// The probe's origin field.
    public var raw: UInt32 { UInt32(session) << 16 | UInt32(member) << 8 | UInt32(incarnation) }

    /// The same member regardless of incarnation.
    public var person: Int { session << 8 | member }

    /// "s3/m7#1".
    public var description: String { "s\(session)/m\(member)#\(incarnation)" }
}
