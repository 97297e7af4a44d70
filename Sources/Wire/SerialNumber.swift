/// Serial-number arithmetic (RFC 1982) for RTP sequence numbers (16 bit) and
/// timestamps (32 bit): comparisons and distances that survive wrap-around.
public enum SerialNumber {
    /// True when `a` is after `b` in 16-bit serial order (RFC 1982 §3.2).
    @inlinable public static func isNewer(_ a: UInt16, than b: UInt16) -> Bool {
        a != b && (a &- b) < 0x8000
    }

    /// True when `a` is after `b` in 32-bit serial order.
    @inlinable public static func isNewer(_ a: UInt32, than b: UInt32) -> Bool {
        a != b && (a &- b) < 0x8000_0000
    }

    /// Signed distance from `b` to `a` (positive when `a` is newer).
    @inlinable public static func distance(from b: UInt16, to a: UInt16) -> Int {
        Int(Int16(bitPattern: a &- b))
    }

    /// Signed distance from `b` to `a` (positive when `a` is newer).
    @inlinable public static func distance(from b: UInt32, to a: UInt32) -> Int64 {
        Int64(Int32(bitPattern: a &- b))
    }
}

/// Extends 16-bit sequence numbers to 64 bits across wrap-around, as a
/// receiver does to count cycles (RFC 3550 A.1). Out-of-order packets from
/// before a wrap map to the previous cycle.
public struct SequenceUnwrapper: Sendable {
    private var last: Int64?

    /// Creates an unwrapper that has seen nothing yet.
    public init() {}

    /// The 64-bit extended value of `seq`.
    public mutating func unwrap(_ seq: UInt16) -> Int64 {
        guard let last else {
            self.last = Int64(seq)
            return Int64(seq)
        }
        let delta = Int64(SerialNumber.distance(from: UInt16(truncatingIfNeeded: last), to: seq))
        let value = last + delta
        if value > last { self.last = value }
        return value
    }
}
