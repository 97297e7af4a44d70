/// Deterministic loss decisions: whether the harness itself drops a given
/// packet is a hash of (seed, origin, kind, probe sequence, direction), so a
/// receiver can tell an injected uplink drop from a loss in the server
/// without any shared state between event loops.
public struct LossInjector: Sendable {
    /// Fraction of uplink packets dropped (0...1).
    public let uplink: Double
    /// Fraction of downlink packets dropped (0...1).
    public let downlink: Double
    /// Seed for the hash.
    public let seed: UInt64

    /// Creates an injector from percentages.
    public init(uplinkPercent: Double, downlinkPercent: Double, seed: UInt64 = 0x436F686F7274) {
        uplink = uplinkPercent / 100
        downlink = downlinkPercent / 100
        self.seed = seed
    }

    /// Whether the sender drops this packet before it reaches the socket.
    public func dropsUplink(origin: UInt32, kind: MediaKind, sequence: UInt32) -> Bool {
        uplink > 0 && Self.unit(seed, origin, kind, sequence, 1) < uplink
    }

    /// Whether `receiver` drops this packet on arrival.
    public func dropsDownlink(receiver: UInt32, origin: UInt32, kind: MediaKind, sequence: UInt32) -> Bool {
        downlink > 0 && Self.unit(seed ^ UInt64(receiver) << 32, origin, kind, sequence, 2) < downlink
    }

    /// A uniform value in [0, 1) from SplitMix64 over the inputs.
    static func unit(_ seed: UInt64, _ origin: UInt32, _ kind: MediaKind, _ seq: UInt32, _ dir: UInt64) -> Double {
        var z = seed &+ UInt64(origin) &* 0x9E3779B97F4A7C15 &+ UInt64(seq) << 8 &+ (kind == .audio ? 0 : 1) &+ dir << 4
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        z ^= z >> 31
        return Double(z >> 11) / Double(1 << 53)
    }
}

/// Audio or video.
public enum MediaKind: String, Codable, Sendable, Hashable {
    /// Opus audio.
    case audio
    /// Synthetic VP8-like video.
    case video
}
