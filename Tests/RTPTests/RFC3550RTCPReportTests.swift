import RTP
import XCTest

/// SR, RR, SDES and BYE (RFC 3550 §6.4-§6.6), hand-written from the layouts.
final class RFC3550RTCPReportTests: XCTestCase {
    /// SR, RC=1, length 12 words: sender info, then one report block with
    /// cumulative lost -2 (0xFFFFFE).
    let senderReportBytes = """
        81 C8 000C  11223344
        E0000001 80000000  00001000  00000005  000001F4
        55667788  40 FFFFFE  00010010  00000020  12345678  00010000
        """

    var expectedSenderReport: RTCPSenderReport {
        RTCPSenderReport(ssrc: 0x1122_3344, ntpTimestamp: 0xE000_0001_8000_0000, rtpTimestamp: 0x1000,
                         packetCount: 5, octetCount: 500,
                         reportBlocks: [RTCPReportBlock(ssrc: 0x5566_7788, fractionLost: 0x40, cumulativeLost: -2,
                                                        extendedHighestSequenceNumber: 0x0001_0010, jitter: 0x20,
                                                        lastSenderReport: 0x1234_5678, delaySinceLastSenderReport: 0x0001_0000)])
    }

    func testParsesSenderReport() throws {
        XCTAssertEqual(try RTCPCompound.parse(hex(senderReportBytes)), [.senderReport(expectedSenderReport)])
        XCTAssertEqual(expectedSenderReport.compactNTP, 0x0001_8000)
    }

    func testSenderReportRoundTrip() throws {
        var buffer: [UInt8] = []
        expectedSenderReport.write(to: &buffer)
        XCTAssertEqual(buffer, hex(senderReportBytes))
    }

    func testSenderReportProfileExtensionIsIgnored() throws {
        // RFC 3550 §6.4.1: profile-specific extensions may follow the blocks.
        var bytes = hex(senderReportBytes) + [0xAB, 0xCD, 0xEF, 0x01]
        bytes[3] = 0x0D
        XCTAssertEqual(try RTCPCompound.parse(bytes), [.senderReport(expectedSenderReport)])
    }

    func testReceiverReportRoundTrip() throws {
        let blocks = (0..<31).map {
            RTCPReportBlock(ssrc: UInt32($0), fractionLost: UInt8($0), cumulativeLost: Int32($0) - 15,
                            extendedHighestSequenceNumber: UInt32($0) << 16, jitter: 3, lastSenderReport: 4,
                            delaySinceLastSenderReport: 5)
        }
        for count in [0, 1, 31] {
            let report = RTCPReceiverReport(ssrc: 0xABCD, reportBlocks: Array(blocks.prefix(count)))
            let bytes = RTCPCompound.build([report])
            XCTAssertEqual(bytes.count, 8 + 24 * count)
            XCTAssertEqual(bytes[0], 0x80 | UInt8(count))
            XCTAssertEqual(try RTCPCompound.parse(bytes), [.receiverReport(report)])
        }
    }

    func testCumulativeLostIsClampedTo24Bits() throws {
        let block = RTCPReportBlock(ssrc: 1, fractionLost: 0, cumulativeLost: 0x0100_0000, extendedHighestSequenceNumber: 0,
                                    jitter: 0, lastSenderReport: 0, delaySinceLastSenderReport: 0)
        let bytes = RTCPCompound.build([RTCPReceiverReport(ssrc: 2, reportBlocks: [block])])
        guard case .receiverReport(let rr) = try RTCPCompound.parse(bytes).first else { return XCTFail() }
        XCTAssertEqual(rr.reportBlocks.first?.cumulativeLost, 0x7F_FFFF)
    }

    func testSourceDescriptionCNAME() throws {
        // SC=1; SSRC, CNAME "abcd" (type 1, length 4), END octet, one pad octet.
        let bytes = hex("81 CA 0003  11223344  01 04 61626364  00 00")
        let expected = RTCPSourceDescription(chunks: [.init(ssrc: 0x1122_3344, cname: "abcd")])
        XCTAssertEqual(try RTCPCompound.parse(bytes), [.sourceDescription(expected)])
        XCTAssertEqual(expected.chunks.first?.cname, "abcd")
        XCTAssertEqual(RTCPCompound.build([expected]), bytes)
    }

    func testSourceDescriptionAlignedItemsGetAFullNullWord() throws {
        // Items ending on a word boundary still need an END octet (§6.5).
        let description = RTCPSourceDescription(chunks: [
            .init(ssrc: 1, items: [.init(type: RTCPSourceDescription.ItemType.cname, value: Array("ab".utf8))]),
            .init(ssrc: 2, items: [.init(type: RTCPSourceDescription.ItemType.cname, value: Array("xyz".utf8)),
                                   .init(type: RTCPSourceDescription.ItemType.tool, value: Array("cohort".utf8))]),
        ])
        let bytes = RTCPCompound.build([description])
        XCTAssertEqual(bytes, hex("82 CA 0008  00000001 01 02 6162 00000000  00000002 01 03 78797A 06 06 636F686F7274 000000"))
        XCTAssertEqual(try RTCPCompound.parse(bytes), [.sourceDescription(description)])
    }

    func testGoodbyeWithAndWithoutReason() throws {
        let withReason = hex("82 CB 0004  00000001 00000002  05 6279652121 0000")
        XCTAssertEqual(withReason.count, 20)
        let expected = RTCPGoodbye(sources: [1, 2], reason: Array("bye!!".utf8))
        XCTAssertEqual(try RTCPCompound.parse(withReason), [.goodbye(expected)])
        XCTAssertEqual(RTCPCompound.build([expected]), withReason)

        let plain = RTCPGoodbye(sources: [9])
        XCTAssertEqual(RTCPCompound.build([plain]), hex("81 CB 0001 00000009"))
        XCTAssertEqual(try RTCPCompound.parse(hex("81 CB 0001 00000009")), [.goodbye(plain)])
    }
}
