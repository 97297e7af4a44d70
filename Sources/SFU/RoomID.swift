/// A room of a therapy session: the main room or a breakout room ("r1", "r2", …),
/// or the waiting room in what a waiting participant is shown.
///
/// A distinct type rather than a bare `String`, so that a room can never be
/// passed where a participant or session id is meant. It encodes as its
/// plain string (docs/PROTOCOL.md).
public struct RoomID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The wire form.
    public let rawValue: String

    /// The room everyone starts in and returns to when breakout rooms close.
    public static let main: RoomID = "main"
    /// Where a participant waits for admission (shown to that participant only).
    public static let waiting: RoomID = "waiting"

    /// A room id from its wire form.
    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// A room id from a literal.
    public init(stringLiteral value: String) { self.rawValue = value }

    /// Decodes the plain string.
    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    /// Encodes the plain string.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }

    public static func < (a: RoomID, b: RoomID) -> Bool { a.rawValue < b.rawValue }

    public var description: String { rawValue }
}
