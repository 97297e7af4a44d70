import Wire

/// The abs-send-time header extension
/// (http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time): 24 bits of
/// 6.18 fixed-point seconds, wrapping every 64 s, resolution 1/262144 s ≈ 3.8 µs.
///
/// The load test writes its own monotonic clock in this format. Because the
/// sender and the receiver share that clock, the one-way delay is the
/// difference of two such values modulo 2^24, exact to 3.8 µs for any delay
/// under 64 s. The payload's `MediaProbe` carries the full 64-bit send time
/// as well; a receiver compares the two to check that the SFU forwarded the
/// extension untouched.
public enum AbsSendTime {
    /// Units per second (2^18).
    public static let unitsPerSecond: UInt64 = 1 << 18
    /// The 24-bit value wraps after 2^24 units (64 s).
    public static let modulus: UInt32 = 1 << 24

    /// The 24-bit value for `instant`.
    public static func value(at instant: Instant) -> UInt32 {
        // ns * 2^18 / 1e9, without overflow for ~2000 years of uptime.
        let ns = instant.nanoseconds
        let units = (ns / 1_000_000_000) * unitsPerSecond + (ns % 1_000_000_000) * unitsPerSecond / 1_000_000_000
        return UInt32(truncatingIfNeeded: units) & (modulus - 1)
    }

    /// The three bytes to put in the extension element.
    public static func bytes(at instant: Instant) -> [UInt8] {
        let v = value(at: instant)
        return [UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
    }

    /// Reads the 24-bit value from the extension element's three bytes.
    public static func value(from bytes: some Collection<UInt8>) -> UInt32? {
        guard bytes.count == 3 else { return nil }
        return bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// The delay from a packet sent at the 24-bit `sent` value until `now`,
    /// assuming it is under 64 s (the difference is taken modulo 2^24).
    public static func delay(sent: UInt32, now: Instant) -> TimeSpan {
        let units = (value(at: now) &- sent) & (modulus - 1)
        return TimeSpan(nanoseconds: Int64(UInt64(units) * 1_000_000_000 / unitsPerSecond))
    }
}
