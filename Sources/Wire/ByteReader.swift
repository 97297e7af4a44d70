/// A cursor over received bytes that reads big-endian (network order) fields.
///
/// It holds the array by reference (no copy) and an index, so parsing a
/// packet with it allocates nothing. Every read checks bounds and throws
/// `WireError.truncated` instead of trapping.
public struct ByteReader: Sendable {
    /// The whole buffer being read.
    public let bytes: [UInt8]
    /// Index of the next unread byte.
    public private(set) var offset: Int
    /// One past the last readable byte (a reader may be limited to a sub-range).
    public let end: Int

    /// Reads `bytes[start..<end]`; `end` defaults to the end of the array.
    public init(_ bytes: [UInt8], start: Int = 0, end: Int? = nil) {
        self.bytes = bytes
        self.offset = max(0, min(start, bytes.count))
        self.end = max(self.offset, min(end ?? bytes.count, bytes.count))
    }

    /// Bytes left to read.
    @inlinable public var remaining: Int { end - offset }

    @inlinable func require(_ n: Int) throws(WireError) {
        guard n >= 0, remaining >= n else { throw .truncated(offset: offset, needed: n) }
    }

    /// Reads one byte.
    public mutating func readUInt8() throws(WireError) -> UInt8 {
        try require(1)
        defer { offset += 1 }
        return bytes[offset]
    }

    /// Reads a big-endian 16-bit field.
    public mutating func readUInt16() throws(WireError) -> UInt16 {
        try require(2)
        defer { offset += 2 }
        return bytes.readUInt16(at: offset)
    }

    /// Reads a big-endian 24-bit field.
    public mutating func readUInt24() throws(WireError) -> UInt32 {
        try require(3)
        defer { offset += 3 }
        return UInt32(bytes[offset]) << 16 | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2])
    }

    /// Reads a big-endian 32-bit field.
    public mutating func readUInt32() throws(WireError) -> UInt32 {
        try require(4)
        defer { offset += 4 }
        return bytes.readUInt32(at: offset)
    }

    /// Reads a big-endian 64-bit field.
    public mutating func readUInt64() throws(WireError) -> UInt64 {
        try require(8)
        defer { offset += 8 }
        return UInt64(bytes.readUInt32(at: offset)) << 32 | UInt64(bytes.readUInt32(at: offset + 4))
    }

    /// Returns the range of the next `count` bytes and moves past them, without copying.
    public mutating func readRange(_ count: Int) throws(WireError) -> Range<Int> {
        try require(count)
        defer { offset += count }
        return offset..<(offset + count)
    }

    /// Copies the next `count` bytes out (allocates: use `readRange` on hot paths).
    public mutating func readBytes(_ count: Int) throws(WireError) -> [UInt8] {
        let r = try readRange(count)
        return Array(bytes[r])
    }

    /// Skips `count` bytes.
    public mutating func skip(_ count: Int) throws(WireError) {
        try require(count)
        offset += count
    }
}
