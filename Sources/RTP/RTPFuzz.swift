/// Fuzz entry point for the RTP parser (wired to libFuzzer by the fuzz package).
///
/// Parses `data` as an RTP packet, reads every part the header points at,
/// rewrites the header in place, rebuilds an equivalent packet and checks
/// that both parse back to what was written. Malformed input must come back
/// as an `RTPError`; a trap here is a bug in this module.
public enum RTPFuzz {
    /// Runs one input.
    public static func run(_ data: [UInt8]) {
        guard var header = try? RTPHeader(parsing: data) else { return }
        var checksum: UInt64 = 0
        for i in 0..<header.csrcCount { checksum &+= UInt64(header.csrc(at: i, in: data) ?? 0) }
        var elements = 0
        for element in header.extensionElements(in: data) {
            precondition(header.extensionRange.contains(element.range.lowerBound) || element.range.isEmpty)
            precondition(element.range.upperBound <= header.extensionRange.upperBound)
            checksum &+= UInt64(element.id)
            elements += 1
        }
        for id in UInt8(0)...15 {
            if let range = header.extensionElement(id: id, in: data) {
                precondition(range.upperBound <= header.extensionRange.upperBound)
            }
            if let level = header.audioLevel(id: id, in: data) { checksum &+= UInt64(level.byte) }
        }
        precondition(header.payloadRange.upperBound + header.paddingLength == data.count)
        _ = checksum

        // Rewrite in place, then parse again: only the rewritten fields change.
        var packet = data
        header.setMarker(!header.marker, in: &packet)
        header.setPayloadType(header.payloadType &+ 1, in: &packet)
        header.shift(ssrc: header.ssrc ^ 0xA5A5_A5A5, sequenceNumberBy: 0x8001, timestampBy: 0x8000_0001, in: &packet)
        guard let reparsed = try? RTPHeader(parsing: packet) else { preconditionFailure("rewrite broke the packet") }
        precondition(reparsed == header, "rewrite and reparse disagree")

        // Rebuild from the parsed fields (one-byte extensions only) and compare.
        guard header.extensionForm == .oneByte || !header.hasExtension else { return }
        var builder = RTPPacketBuilder(payloadType: header.payloadType, sequenceNumber: header.sequenceNumber,
                                       timestamp: header.timestamp, ssrc: header.ssrc, marker: header.marker)
        builder.csrcs = (0..<header.csrcCount).map { header.csrc(at: $0, in: packet) ?? 0 }
        builder.extensions = header.extensionElements(in: packet).map {
            RTPHeaderExtensionValue(id: $0.id, data: Array(packet[$0.range]))
        }
        builder.paddingLength = UInt8(header.paddingLength)
        guard let rebuilt = try? builder.build(payload: packet[header.payloadRange]),
              let again = try? RTPHeader(parsing: rebuilt) else { preconditionFailure("rebuild failed") }
        precondition(rebuilt[again.payloadRange].elementsEqual(packet[header.payloadRange]))
        precondition(again.extensionElements(in: rebuilt).count(where: { _ in true }) == builder.extensions.count)
    }
}

/// Fuzz entry point for the RTCP compound reader.
///
/// Walks `data` as a compound RTCP packet, continuing past per-packet errors
/// as a receiver would, and writes every packet Cohort can build back out,
/// checking that it parses to the same value.
public enum RTCPFuzz {
    /// Runs one input.
    public static func run(_ data: [UInt8]) {
        var reader = RTCPCompoundReader(data)
        var steps = 0
        while steps <= data.count {
            steps += 1
            let packet: RTCPPacket?
            do {
                packet = try reader.next()
            } catch {
                continue
            }
            guard let packet else { return }
            if case .nack(let nack) = packet {
                let rebuilt = RTCPNack(senderSSRC: nack.senderSSRC, mediaSSRC: nack.mediaSSRC,
                                       lostSequenceNumbers: nack.lostSequenceNumbers)
                precondition(Set(rebuilt.lostSequenceNumbers) == Set(nack.lostSequenceNumbers))
            }
            if case .transportWideFeedback(let feedback) = packet {
                precondition(feedback.packets.count == Int(feedback.packetStatusCount))
            }
            guard let writable = packet.writable else { continue }
            let bytes = RTCPCompound.build([writable])
            guard let again = try? RTCPCompound.parse(bytes), again == [packet] else {
                preconditionFailure("RTCP round trip changed the packet")
            }
        }
        preconditionFailure("RTCP reader did not advance")
    }
}
