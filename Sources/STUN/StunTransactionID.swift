import Wire

/// The 96-bit transaction ID of RFC 8489 §5, kept inline so a value costs no allocation.
public struct StunTransactionID: Hashable, Sendable, CustomStringConvertible {
    /// The first 32 bits, big-endian.
    public var high: UInt32
    /// The last 64 bits, big-endian.
    public var low: UInt64

    /// Creates an ID from its two halves.
    public init(high: UInt32, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Creates an ID from exactly 12 bytes.
    public init(bytes: [UInt8]) throws(StunError) {
        guard bytes.count == 12 else { throw .invalidTransactionID(length: bytes.count) }
        self.init(bytes, at: 0)
    }

    /// Reads 12 bytes at `offset`; the caller has checked bounds.
    init(_ bytes: [UInt8], at offset: Int) {
        high = bytes.readUInt32(at: offset)
        low = UInt64(bytes.readUInt32(at: offset + 4)) << 32 | UInt64(bytes.readUInt32(at: offset + 8))
    }

    /// A fresh ID. RFC 8489 §5 asks for a cryptographically random ID;
    /// pass a `SystemRandomNumberGenerator` in production.
    public static func random(using generator: inout some RandomNumberGenerator) -> StunTransactionID {
        StunTransactionID(high: UInt32(truncatingIfNeeded: generator.next()), low: generator.next())
    }

    /// The 12 bytes in wire order.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(12)
        append(to: &out)
        return out
    }

    /// Appends the 12 bytes in wire order.
    func append(to out: inout [UInt8]) {
        out.appendUInt32(high)
        out.appendUInt64(low)
    }

    /// Hex, for logs.
    public var description: String { Hex.encode(bytes) }
}
