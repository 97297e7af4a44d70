import Wire

/// BYE: the listed sources are leaving (RFC 3550 §6.6).
public struct RTCPGoodbye: Equatable, Sendable, RTCPPacketWritable {
    /// SSRCs and CSRCs that leave, at most 31.
    public var sources: [UInt32]
    /// Optional reason for leaving, at most 255 bytes of UTF-8.
    public var reason: [UInt8]?

    /// Creates a BYE.
    public init(sources: [UInt32], reason: [UInt8]? = nil) {
        self.sources = sources
        self.reason = reason
    }

    init(_ view: RTCPPacketView) throws(RTPError) {
        let count = Int(view.header.count)
        try view.require(4 * count)
        sources = (0..<count).map { view.word(4 * $0) }
        let reasonStart = view.body.lowerBound + 4 * count
        if reasonStart < view.body.upperBound {
            let length = Int(view.bytes[reasonStart])
            guard length <= view.body.upperBound - reasonStart - 1 else {
                throw .byeReasonOverrun(offset: reasonStart)
            }
            reason = Array(view.bytes[(reasonStart + 1)..<(reasonStart + 1 + length)])
        } else {
            reason = nil
        }
    }

    /// Appends the BYE. More than 31 sources or a reason over 255 bytes is a caller bug.
    public func write(to buffer: inout [UInt8]) {
        precondition(sources.count <= 31, "at most 31 sources per BYE")
        let start = RTCPWriter.begin(count: UInt8(sources.count), packetType: RTCPPacketType.goodbye, into: &buffer)
        for source in sources { buffer.appendUInt32(source) }
        if let reason {
            precondition(reason.count <= 255, "BYE reason at most 255 bytes")
            buffer.append(UInt8(reason.count))
            buffer.append(contentsOf: reason)
            RTCPWriter.align(from: start, in: &buffer)
        }
        RTCPWriter.finish(start: start, in: &buffer)
    }
}
