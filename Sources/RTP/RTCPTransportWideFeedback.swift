import Wire

/// Transport-wide congestion control feedback
/// (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1): RTPFB, FMT 15.
///
/// ```
/// SSRC of packet sender | SSRC of media source
/// base sequence number (16) | packet status count (16)
/// reference time (24, signed, ×64 ms) | fb pkt. count (8)
/// packet chunks (16 bits each) ... | receive deltas ... | zero padding
/// ```
///
/// Parsing expands the chunks to one result per reported packet.
public struct RTCPTransportWideFeedback: Equatable, Sendable, RTCPPacketWritable {
    /// The feedback message type in the RTPFB header.
    public static let format: UInt8 = 15
    /// Receive deltas count in units of 250 µs (§3.1.5).
    public static let deltaTickMicroseconds: Int64 = 250
    /// The reference time counts in units of 64 ms (§3.1).
    public static let referenceTimeTickMilliseconds: Int64 = 64

    /// A packet status symbol (§3.1.1).
    public enum Status: UInt8, Sendable {
        /// 00: the packet was not received (no delta follows).
        case notReceived = 0
        /// 01: received, with a 1-byte unsigned delta.
        case receivedSmallDelta = 1
        /// 10: received, with a 2-byte signed delta.
        case receivedLargeOrNegativeDelta = 2
    }

    /// What the feedback says about one transport-wide sequence number.
    public struct PacketResult: Equatable, Sendable {
        /// The transport-wide sequence number (base + index, wrapping).
        public var sequenceNumber: UInt16
        /// The reported status.
        public var status: Status
        /// Arrival time relative to the previous received packet (or to the
        /// reference time for the first), in 250 µs ticks; 0 when not received.
        public var receiveDelta: Int32

        /// Creates a result.
        public init(sequenceNumber: UInt16, status: Status, receiveDelta: Int32) {
            self.sequenceNumber = sequenceNumber
            self.status = status
            self.receiveDelta = receiveDelta
        }

        /// True unless the status is `notReceived`.
        public var received: Bool { status != .notReceived }

        /// The receive delta in microseconds, nil when not received.
        public var receiveDeltaMicroseconds: Int64? {
            received ? Int64(receiveDelta) * RTCPTransportWideFeedback.deltaTickMicroseconds : nil
        }
    }

    /// SSRC of the packet sender.
    public var senderSSRC: UInt32
    /// SSRC of the media source (unused by transport-wide feedback).
    public var mediaSSRC: UInt32
    /// The first transport-wide sequence number reported.
    public var baseSequenceNumber: UInt16
    /// How many sequence numbers the packet reports on.
    public var packetStatusCount: UInt16
    /// Reference time, a signed 24-bit count of 64 ms units.
    public var referenceTime: Int32
    /// Feedback packet count, to detect lost feedback.
    public var feedbackPacketCount: UInt8
    /// One result per reported sequence number, `packetStatusCount` in all.
    public var packets: [PacketResult]

    /// The reference time in milliseconds.
    public var referenceTimeMilliseconds: Int64 { Int64(referenceTime) * Self.referenceTimeTickMilliseconds }

    /// Creates feedback reporting `packets`, which must run from
    /// `baseSequenceNumber` without gaps (a lost packet is `.notReceived`).
    public init(senderSSRC: UInt32, mediaSSRC: UInt32, baseSequenceNumber: UInt16, referenceTime: Int32,
                feedbackPacketCount: UInt8, packets: [PacketResult]) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
        self.baseSequenceNumber = baseSequenceNumber
        self.packetStatusCount = UInt16(truncatingIfNeeded: packets.count)
        self.referenceTime = referenceTime
        self.feedbackPacketCount = feedbackPacketCount
        self.packets = packets
    }

    init(_ view: RTCPPacketView) throws(RTPError) {
        try view.require(16)
        senderSSRC = view.word(0)
        mediaSSRC = view.word(4)
        let counts = view.word(8)
        baseSequenceNumber = UInt16(counts >> 16)
        packetStatusCount = UInt16(truncatingIfNeeded: counts)
        let timeWord = view.word(12)
        referenceTime = Int32(bitPattern: timeWord) >> 8   // arithmetic shift sign-extends the 24 bits
        feedbackPacketCount = UInt8(truncatingIfNeeded: timeWord)

        let bytes = view.bytes
        let end = view.body.upperBound
        let total = Int(packetStatusCount)
        let base = baseSequenceNumber
        var position = view.body.lowerBound + 16
        var results: [PacketResult] = []
        results.reserveCapacity(total)

        func add(_ symbol: UInt8, at chunk: Int) throws(RTPError) {
            guard let status = Status(rawValue: symbol) else {
                throw .transportFeedbackReservedSymbol(offset: chunk)
            }
            results.append(PacketResult(sequenceNumber: base &+ UInt16(truncatingIfNeeded: results.count),
                                        status: status, receiveDelta: 0))
        }

        // Packet chunks (§3.1.2-§3.1.4) until every packet has a status;
        // symbols past the count in the last chunk are ignored.
        while results.count < total {
            guard position + 2 <= end else { throw .transportFeedbackTruncated(offset: position) }
            let chunk = bytes.readUInt16(at: position)
            if chunk & 0x8000 == 0 {
                // Run length chunk: T=0 | S (2) | run length (13).
                let symbol = UInt8((chunk >> 13) & 0x3)
                let run = min(Int(chunk & 0x1FFF), total - results.count)
                for _ in 0..<run { try add(symbol, at: position) }
            } else if chunk & 0x4000 == 0 {
                // Status vector chunk, S=0: 14 one-bit symbols (1 = small delta).
                for i in 0..<min(14, total - results.count) {
                    try add(UInt8((chunk >> (13 - i)) & 0x1), at: position)
                }
            } else {
                // Status vector chunk, S=1: 7 two-bit symbols.
                for i in 0..<min(7, total - results.count) {
                    try add(UInt8((chunk >> (12 - 2 * i)) & 0x3), at: position)
                }
            }
            position += 2
        }

        // Receive deltas (§3.1.5), one per received packet, in order.
        for index in results.indices {
            switch results[index].status {
            case .notReceived:
                continue
            case .receivedSmallDelta:
                guard position + 1 <= end else { throw .transportFeedbackTruncated(offset: position) }
                results[index].receiveDelta = Int32(bytes[position])
                position += 1
            case .receivedLargeOrNegativeDelta:
                guard position + 2 <= end else { throw .transportFeedbackTruncated(offset: position) }
                results[index].receiveDelta = Int32(Int16(bitPattern: bytes.readUInt16(at: position)))
                position += 2
            }
        }
        self.packets = results
    }

    /// Appends the feedback (§3.1). Chunks are chosen greedily: a run of seven
    /// or more equal symbols (or the equal rest) becomes a run-length chunk,
    /// otherwise a one-bit vector of 14 when no large delta is among them, else
    /// a two-bit vector of 7. A status that does not fit its delta (small
    /// outside 0...255) is a caller bug; the reference time keeps its low 24
    /// bits, as on the wire.
    public func write(to buffer: inout [UInt8]) {
        precondition(packets.count <= Int(UInt16.max), "at most 65535 statuses per feedback")
        let start = RTCPWriter.begin(count: Self.format, packetType: RTCPPacketType.transportFeedback, into: &buffer)
        buffer.appendUInt32(senderSSRC)
        buffer.appendUInt32(mediaSSRC)
        buffer.appendUInt16(baseSequenceNumber)
        buffer.appendUInt16(UInt16(packets.count))
        buffer.appendUInt32(UInt32(bitPattern: referenceTime) << 8 | UInt32(feedbackPacketCount))

        var index = 0
        while index < packets.count {
            let symbol = packets[index].status.rawValue
            var run = 1
            while index + run < packets.count, run < 0x1FFF, packets[index + run].status.rawValue == symbol { run += 1 }
            if run >= 7 || index + run == packets.count {
                buffer.appendUInt16(UInt16(symbol) << 13 | UInt16(run))
                index += run
                continue
            }
            let window = packets[index..<min(index + 14, packets.count)]
            if !window.contains(where: { $0.status == .receivedLargeOrNegativeDelta }) {
                var chunk: UInt16 = 0x8000
                for (i, result) in window.enumerated() where result.status == .receivedSmallDelta {
                    chunk |= 1 << (13 - i)
                }
                buffer.appendUInt16(chunk)
                index += window.count
            } else {
                var chunk: UInt16 = 0xC000
                for (i, result) in packets[index..<min(index + 7, packets.count)].enumerated() {
                    chunk |= UInt16(result.status.rawValue) << (12 - 2 * i)
                }
                buffer.appendUInt16(chunk)
                index += min(7, packets.count - index)
            }
        }
        for result in packets {
            switch result.status {
            case .notReceived:
                continue
            case .receivedSmallDelta:
                precondition((0...255).contains(result.receiveDelta), "a small delta is 0...255 ticks")
                buffer.append(UInt8(result.receiveDelta))
            case .receivedLargeOrNegativeDelta:
                precondition((-32768...32767).contains(result.receiveDelta), "a large delta is a signed 16-bit count")
                buffer.appendUInt16(UInt16(bitPattern: Int16(result.receiveDelta)))
            }
        }
        RTCPWriter.align(from: start, in: &buffer)
        RTCPWriter.finish(start: start, in: &buffer)
    }
}
