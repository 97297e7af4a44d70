import RTP
import XCTest

/// Compound RTCP (RFC 3550 §6.1), reduced-size RTCP (RFC 5506) and the
/// malformed classes of the common header (§6.4.1).
final class RTCPCompoundTests: XCTestCase {
    let report = RTCPReceiverReport(ssrc: 0x1111, reportBlocks: [
        RTCPReportBlock(ssrc: 0x2222, fractionLost: 1, cumulativeLost: 2, extendedHighestSequenceNumber: 3,
                        jitter: 4, lastSenderReport: 5, delaySinceLastSenderReport: 6),
    ])
    let sender = RTCPSenderReport(ssrc: 0x3333, ntpTimestamp: 1 << 40, rtpTimestamp: 90000, packetCount: 10, octetCount: 1000)
    let description = RTCPSourceDescription(chunks: [.init(ssrc: 0x1111, cname: "cohort-sfu")])
    let nack = RTCPNack(senderSSRC: 0x1111, mediaSSRC: 0x2222, lostSequenceNumbers: [10, 12, 40])
    let pli = RTCPPictureLossIndication(senderSSRC: 0x1111, mediaSSRC: 0x2222)
    let fir = RTCPFullIntraRequest(senderSSRC: 0x1111, entries: [.init(ssrc: 0x2222, sequenceNumber: 1)])

    var compound: [UInt8] { RTCPCompound.build([sender, report, description, nack, pli, fir]) }

    func testCompoundIteration() throws {
        let bytes = compound
        var reader = RTCPCompoundReader(bytes)
        XCTAssertEqual(try reader.next(), .senderReport(sender))
        XCTAssertEqual(try reader.next(), .receiverReport(report))
        XCTAssertEqual(try reader.next(), .sourceDescription(description))
        XCTAssertEqual(try reader.next(), .nack(nack))
        XCTAssertEqual(try reader.next(), .pictureLossIndication(pli))
        XCTAssertEqual(try reader.next(), .fullIntraRequest(fir))
        XCTAssertNil(try reader.next())
        XCTAssertNil(try reader.next())
        XCTAssertEqual(reader.offset, bytes.count)
    }

    func testApplicationPacketIsSkipped() throws {
        // APP (PT 204, subtype 3): SSRC, name "test", 4 bytes of data.
        let app = hex("83 CC 0003  00001111 74657374 DEADBEEF")
        let bytes = RTCPCompound.build([report]) + app + RTCPCompound.build([pli])
        let packets = try RTCPCompound.parse(bytes)
        XCTAssertEqual(packets.count, 3)
        XCTAssertEqual(packets[0], .receiverReport(report))
        XCTAssertEqual(packets[1], .other(RTCPHeader(count: 3, packetType: 204, length: 3), body: 36..<48))
        XCTAssertEqual(packets[2], .pictureLossIndication(pli))
    }

    func testReducedSizeSinglePacket() throws {
        // RFC 5506: feedback alone, without a leading RR or an SDES.
        XCTAssertEqual(try RTCPCompound.parse(RTCPCompound.build([pli])), [.pictureLossIndication(pli)])
        XCTAssertEqual(try RTCPCompound.parse([]), [])
    }

    func testPaddingOnLastPacket() throws {
        // PLI with P=1, length 3 (one extra word of padding, count 4).
        let bytes = RTCPCompound.build([report]) + hex("A1 CE 0003  00001111 00002222  00000004")
        XCTAssertEqual(try RTCPCompound.parse(bytes), [.receiverReport(report), .pictureLossIndication(pli)])
    }

    func testPaddingNotOnLastPacketIsRejectedButIterationContinues() throws {
        let bytes = hex("A1 CE 0003  00001111 00002222  00000004") + RTCPCompound.build([report])
        var reader = RTCPCompoundReader(bytes)
        XCTAssertThrowsError(try reader.next()) { XCTAssertEqual($0 as? RTPError, .rtcpPaddingNotLast(offset: 0)) }
        XCTAssertEqual(try reader.next(), .receiverReport(report))
        XCTAssertNil(try reader.next())
    }

    func testInvalidPaddingCount() {
        for (count, label) in [(0, "zero"), (9, "longer than the body")] {
            var bytes = hex("A1 CE 0002  00001111 00002222")
            bytes[bytes.count - 1] = UInt8(count)
            assertRTPError(.invalidPadding(count: count, available: 8)) { try RTCPCompound.parse(bytes) }
            _ = label
        }
    }

    func testBodyErrorLeavesFramingIntact() throws {
        // RR claiming 2 report blocks but carrying 1, then a good PLI.
        var bad = RTCPCompound.build([report])
        bad[0] = 0x82
        var reader = RTCPCompoundReader(bad + RTCPCompound.build([pli]))
        XCTAssertThrowsError(try reader.next()) {
            XCTAssertEqual($0 as? RTPError, .rtcpPacketTooShort(offset: 0, packetType: 201, needed: 52, available: 28))
        }
        XCTAssertEqual(try reader.next(), .pictureLossIndication(pli))
    }

    func testBadVersionEndsIteration() throws {
        var bytes = compound
        bytes[0] = 0x40 | (bytes[0] & 0x3F)
        var reader = RTCPCompoundReader(bytes)
        XCTAssertThrowsError(try reader.next()) { XCTAssertEqual($0 as? RTPError, .unsupportedVersion(1)) }
        XCTAssertNil(try reader.next())
    }

    func testLengthThatOverrunsEndsIteration() throws {
        var bytes = RTCPCompound.build([pli, pli])
        bytes[12 + 3] = 9   // second PLI claims 40 bytes, 12 are left
        var reader = RTCPCompoundReader(bytes)
        XCTAssertEqual(try reader.next(), .pictureLossIndication(pli))
        XCTAssertThrowsError(try reader.next()) {
            XCTAssertEqual($0 as? RTPError, .rtcpLengthOverrun(offset: 12, declared: 40, available: 12))
        }
        XCTAssertNil(try reader.next())
    }

    func testTruncationAtEveryByte() throws {
        // Every prefix either ends on a packet boundary (and parses to the
        // packets before it) or fails with a typed error.
        let bytes = compound
        var boundaries: [Int: Int] = [0: 0]
        var reader = RTCPCompoundReader(bytes)
        var n = 0
        while try reader.next() != nil {
            n += 1
            boundaries[reader.offset] = n
        }
        for length in 0..<bytes.count {
            let prefix = Array(bytes.prefix(length))
            if let count = boundaries[length] {
                XCTAssertEqual(try RTCPCompound.parse(prefix).count, count)
            } else {
                XCTAssertThrowsError(try RTCPCompound.parse(prefix)) { XCTAssertTrue($0 is RTPError) }
            }
        }
    }

    func testShortTrailer() {
        assertRTPError(.rtcpTruncatedHeader(offset: 12, available: 3)) {
            try RTCPCompound.parse(RTCPCompound.build([pli]) + [0x80, 0xC9, 0x00])
        }
    }

    func testSDESAndBYEOverruns() {
        // SDES item length 200 in a 12-byte body.
        assertRTPError(.sdesChunkOverrun(offset: 8)) {
            try RTCPCompound.parse(hex("81 CA 0002  00001111  01 C8 6162"))
        }
        // SDES chunk with no END octet before the packet ends.
        assertRTPError(.sdesChunkOverrun(offset: 12)) {
            try RTCPCompound.parse(hex("81 CA 0002  00001111  01 02 6162"))
        }
        // SC=2 but one chunk.
        assertRTPError(.sdesChunkOverrun(offset: 12)) {
            try RTCPCompound.parse(hex("82 CA 0002  00001111  01 01 61 00"))
        }
        // BYE reason length 9 with 3 bytes left.
        assertRTPError(.byeReasonOverrun(offset: 8)) {
            try RTCPCompound.parse(hex("81 CB 0002  00001111  09 616263"))
        }
        // BYE SC=3 with one SSRC.
        assertRTPError(.rtcpPacketTooShort(offset: 0, packetType: 203, needed: 12, available: 4)) {
            try RTCPCompound.parse(hex("83 CB 0001  00001111"))
        }
    }

    func testSenderReportTooShort() {
        assertRTPError(.rtcpPacketTooShort(offset: 0, packetType: 200, needed: 24, available: 4)) {
            try RTCPCompound.parse(hex("80 C8 0001  00001111"))
        }
    }
}
