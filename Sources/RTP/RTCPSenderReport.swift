import Wire

/// SR: sender report (RFC 3550 §6.4.1).
///
/// ```
/// header (RC = number of report blocks, PT = 200)
/// SSRC of sender
/// NTP timestamp, most significant word | least significant word
/// RTP timestamp
/// sender's packet count
/// sender's octet count
/// report blocks (24 bytes each), then optional profile-specific extensions
/// ```
public struct RTCPSenderReport: Equatable, Sendable, RTCPPacketWritable {
    /// SSRC of the sender.
    public var ssrc: UInt32
    /// Wallclock time of this report as a 64-bit NTP timestamp (RFC 3550 §4).
    public var ntpTimestamp: UInt64
    /// The same instant in the RTP timestamp units of this stream.
    public var rtpTimestamp: UInt32
    /// Packets sent since the stream started (wraps).
    public var packetCount: UInt32
    /// Payload octets sent since the stream started (wraps).
    public var octetCount: UInt32
    /// Reception reports, at most 31 per packet.
    public var reportBlocks: [RTCPReportBlock]

    /// Creates a report.
    public init(ssrc: UInt32, ntpTimestamp: UInt64, rtpTimestamp: UInt32, packetCount: UInt32,
                octetCount: UInt32, reportBlocks: [RTCPReportBlock] = []) {
        self.ssrc = ssrc
        self.ntpTimestamp = ntpTimestamp
        self.rtpTimestamp = rtpTimestamp
        self.packetCount = packetCount
        self.octetCount = octetCount
        self.reportBlocks = reportBlocks
    }

    /// The middle 32 bits of the NTP timestamp: what a receiver echoes as LSR.
    @inlinable public var compactNTP: UInt32 { UInt32(truncatingIfNeeded: ntpTimestamp >> 16) }

    init(_ view: RTCPPacketView) throws(RTPError) {
        let blocks = Int(view.header.count)
        try view.require(24 + blocks * RTCPReportBlock.length)
        ssrc = view.word(0)
        ntpTimestamp = UInt64(view.word(4)) << 32 | UInt64(view.word(8))
        rtpTimestamp = view.word(12)
        packetCount = view.word(16)
        octetCount = view.word(20)
        // Profile-specific extensions after the blocks are ignored.
        reportBlocks = RTCPReportBlock.readBlocks(view, count: blocks, from: 24)
    }

    /// Appends the SR. More than 31 report blocks is a caller bug: split
    /// them over further RRs in the same compound (RFC 3550 §6.4.2).
    public func write(to buffer: inout [UInt8]) {
        precondition(reportBlocks.count <= 31, "at most 31 report blocks per SR")
        let start = RTCPWriter.begin(count: UInt8(reportBlocks.count), packetType: RTCPPacketType.senderReport, into: &buffer)
        buffer.appendUInt32(ssrc)
        buffer.appendUInt64(ntpTimestamp)
        buffer.appendUInt32(rtpTimestamp)
        buffer.appendUInt32(packetCount)
        buffer.appendUInt32(octetCount)
        for block in reportBlocks { block.write(to: &buffer) }
        RTCPWriter.finish(start: start, in: &buffer)
    }
}

/// RR: receiver report (RFC 3550 §6.4.2): the SR without sender information.
public struct RTCPReceiverReport: Equatable, Sendable, RTCPPacketWritable {
    /// SSRC of the packet's sender (the receiver reporting).
    public var ssrc: UInt32
    /// Reception reports, at most 31 per packet.
    public var reportBlocks: [RTCPReportBlock]

    /// Creates a report.
    public init(ssrc: UInt32, reportBlocks: [RTCPReportBlock] = []) {
        self.ssrc = ssrc
        self.reportBlocks = reportBlocks
    }

    init(_ view: RTCPPacketView) throws(RTPError) {
        let blocks = Int(view.header.count)
        try view.require(4 + blocks * RTCPReportBlock.length)
        ssrc = view.word(0)
        reportBlocks = RTCPReportBlock.readBlocks(view, count: blocks, from: 4)
    }

    /// Appends the RR. More than 31 blocks is a caller bug: send several RRs.
    public func write(to buffer: inout [UInt8]) {
        precondition(reportBlocks.count <= 31, "at most 31 report blocks per RR")
        let start = RTCPWriter.begin(count: UInt8(reportBlocks.count), packetType: RTCPPacketType.receiverReport, into: &buffer)
        buffer.appendUInt32(ssrc)
        for block in reportBlocks { block.write(to: &buffer) }
        RTCPWriter.finish(start: start, in: &buffer)
    }
}
