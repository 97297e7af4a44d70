/// The client-to-mixer audio level of one packet (RFC 6464 §3).
///
/// ```
///  0 1 2 3 4 5 6 7
/// |V|    level    |
/// ```
public struct RTPAudioLevel: Equatable, Hashable, Sendable {
    /// V: the sender's voice activity detector says this packet holds speech.
    public var voiceActivity: Bool
    /// The level in -dBov, 0 (loudest) ... 127 (silence, or quieter than -127 dBov).
    public var level: UInt8

    /// Creates a level; `level` is clamped to 0...127.
    public init(voiceActivity: Bool, level: UInt8) {
        self.voiceActivity = voiceActivity
        self.level = min(level, 127)
    }

    /// Decodes the extension element's data byte.
    @inlinable public init(byte: UInt8) {
        voiceActivity = byte & 0x80 != 0
        level = byte & 0x7F
    }

    /// The element's data byte.
    @inlinable public var byte: UInt8 { (voiceActivity ? 0x80 : 0) | (level & 0x7F) }

    /// The level in dBov (0 ... -127); louder is larger, which suits "loudest N".
    @inlinable public var dBov: Int { -Int(level) }
}
