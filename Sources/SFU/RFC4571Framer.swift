import Wire

/// RFC 4571 §2 framing for ICE-TCP (RFC 6544 §3.1): each STUN, DTLS, RTP or
/// RTCP packet is sent as a 16-bit big-endian length and that many bytes.
///
/// A value, fed whatever bytes TCP delivers (split or merged frames alike),
/// handing back whole frames. It holds at most one incomplete frame, so its
/// buffer is bounded by `maxFrame`. A length that lies (zero, over
/// `maxFrame`, or cut off when the connection closes) is an error: the
/// shell closes that one connection and counts it (a peer that frames wrong
/// once cannot be resynchronised, as nothing marks frame boundaries).
public struct RFC4571Framer: Sendable {
    /// Why a connection's framing is broken.
    public enum Failure: Error, Equatable, Sendable {
        /// A frame of length 0: nothing in ICE-TCP is empty.
        case zeroLength
        /// A frame longer than the limit (its announced length).
        case tooLong(Int)
        /// The connection closed in the middle of a frame (bytes held).
        case truncated(Int)
    }

    /// The longest frame accepted. STUN, DTLS records and SRTP packets from
    /// browsers stay near the path MTU; RFC 4571 would allow 65,535.
    public let maxFrame: Int
    private var buffer: [UInt8] = []
    /// The frame handed out, reused: no allocation per frame once warm.
    private var frame: [UInt8] = []

    /// A framer that accepts frames up to `maxFrame` bytes.
    public init(maxFrame: Int = 4_096) {
        self.maxFrame = maxFrame
        buffer.reserveCapacity(maxFrame + 2)
        frame.reserveCapacity(maxFrame)
    }

    /// Bytes held for an incomplete frame.
    public var buffered: Int { buffer.count }

    /// Takes the next bytes of the stream and calls `frame` with each whole
    /// frame in order (the array is only borrowed). Throws at the first lying
    /// length, as soon as its two length bytes have arrived.
    public mutating func push(_ bytes: some Collection<UInt8>, frame: ([UInt8]) -> Void) throws(Failure) {
        buffer.append(contentsOf: bytes)
        var start = 0
        defer { if start > 0 { buffer.removeFirst(start) } }
        while buffer.count - start >= 2 {
            let length = Int(buffer[start]) << 8 | Int(buffer[start + 1])
            guard length > 0 else { throw .zeroLength }
            guard length <= maxFrame else { throw .tooLong(length) }
            guard buffer.count - start - 2 >= length else { return }
            self.frame.removeAll(keepingCapacity: true)
            self.frame.append(contentsOf: buffer[(start + 2)..<(start + 2 + length)])
            frame(self.frame)
            start += 2 + length
        }
    }

    /// The stream ended: an error if a frame was cut off.
    public func finish() throws(Failure) {
        if !buffer.isEmpty { throw .truncated(buffer.count) }
    }

    /// The two length bytes to send before `length` bytes of payload.
    public static func header(length: Int) -> (UInt8, UInt8) {
        precondition((1...0xFFFF).contains(length), "an RFC 4571 frame holds 1 to 65,535 bytes")
        return (UInt8(length >> 8), UInt8(length & 0xFF))
    }
}
