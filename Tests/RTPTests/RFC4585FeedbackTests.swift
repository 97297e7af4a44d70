import RTP
import XCTest

/// Generic NACK and PLI (RFC 4585 §6.2.1, §6.3.1), FIR (RFC 5104 §4.3.1)
/// and REMB (draft-alvestrand-rmcat-remb-03 §2.2).
final class RFC4585FeedbackTests: XCTestCase {
    func testNackExpandsPIDAndBLP() throws {
        // PID 100, BLP 0x8005: bits 0, 2, 15 → 101, 103, 116 lost too.
        let bytes = hex("81 CD 0003  00000001 00000002  0064 8005")
        guard case .nack(let nack) = try RTCPCompound.parse(bytes).first else { return XCTFail("not a NACK") }
        XCTAssertEqual(nack.senderSSRC, 1)
        XCTAssertEqual(nack.mediaSSRC, 2)
        XCTAssertEqual(nack.items, [.init(packetID: 100, lostBitmask: 0x8005)])
        XCTAssertEqual(nack.lostSequenceNumbers, [100, 101, 103, 116])
        XCTAssertEqual(RTCPCompound.build([nack]), bytes)
    }

    func testNackPackingAcrossWrap() throws {
        let lost: [UInt16] = [65530, 65531, 65535, 0, 5, 10, 30, 31, 100]
        let nack = RTCPNack(senderSSRC: 1, mediaSSRC: 2, lostSequenceNumbers: lost)
        // 65530 + 16 = 10 (mod 2^16), so the first entry takes everything up to 10.
        XCTAssertEqual(nack.items, [.init(packetID: 65530, lostBitmask: 1 << 0 | 1 << 4 | 1 << 5 | 1 << 10 | 1 << 15),
                                    .init(packetID: 30, lostBitmask: 1),
                                    .init(packetID: 100, lostBitmask: 0)])
        XCTAssertEqual(nack.lostSequenceNumbers, lost)
        let bytes = RTCPCompound.build([nack])
        XCTAssertEqual(bytes.count, 12 + 4 * 3)
        XCTAssertEqual(try RTCPCompound.parse(bytes), [.nack(nack)])
    }

    func testNackPackingRoundTripRandomized() throws {
        var rng = SeededRandomForTests(seed: 4585)
        for _ in 0..<300 {
            var seq = UInt16(truncatingIfNeeded: rng.uint32())
            var lost: [UInt16] = []
            for _ in 0..<(1 + rng.int(60)) {
                seq &+= UInt16(1 + rng.int(rng.int(2) == 0 ? 3 : 40))
                lost.append(seq)
            }
            let nack = RTCPNack(senderSSRC: 7, mediaSSRC: 8, lostSequenceNumbers: lost)
            XCTAssertEqual(nack.lostSequenceNumbers, lost)
            // Packing is greedy: each entry's PID is the first seq beyond 16 of the previous PID.
            for (a, b) in zip(nack.items, nack.items.dropFirst()) {
                XCTAssertGreaterThan(b.packetID &- a.packetID, 16)
            }
            guard case .nack(let parsed) = try RTCPCompound.parse(RTCPCompound.build([nack])).first else {
                return XCTFail("not a NACK")
            }
            XCTAssertEqual(parsed.lostSequenceNumbers, lost)
        }
    }

    func testNackDropsRepeatedPID() {
        let nack = RTCPNack(senderSSRC: 1, mediaSSRC: 2, lostSequenceNumbers: [5, 5, 6])
        XCTAssertEqual(nack.items, [.init(packetID: 5, lostBitmask: 1)])
    }

    func testNackWithoutFCIIsTooShort() {
        assertRTPError(.rtcpPacketTooShort(offset: 0, packetType: 205, needed: 12, available: 8)) {
            try RTCPCompound.parse(hex("81 CD 0002  00000001 00000002"))
        }
    }

    func testPictureLossIndication() throws {
        let bytes = hex("81 CE 0002  00000001 00000002")
        let pli = RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: 2)
        XCTAssertEqual(try RTCPCompound.parse(bytes), [.pictureLossIndication(pli)])
        XCTAssertEqual(RTCPCompound.build([pli]), bytes)
    }

    func testFullIntraRequest() throws {
        // RFC 5104 §4.3.1.1: media source 0; FCI SSRC, seq nr, 24 reserved bits.
        let bytes = hex("84 CE 0006  00000001 00000000  00000002 07000000  00000003 FF000000")
        let fir = RTCPFullIntraRequest(senderSSRC: 1, entries: [.init(ssrc: 2, sequenceNumber: 7),
                                                                 .init(ssrc: 3, sequenceNumber: 255)])
        XCTAssertEqual(try RTCPCompound.parse(bytes), [.fullIntraRequest(fir)])
        XCTAssertEqual(RTCPCompound.build([fir]), bytes)
    }

    func testFullIntraRequestReservedBitsAreIgnored() throws {
        let bytes = hex("84 CE 0004  00000001 00000000  00000002 07ABCDEF")
        XCTAssertEqual(try RTCPCompound.parse(bytes),
                       [.fullIntraRequest(RTCPFullIntraRequest(senderSSRC: 1, entries: [.init(ssrc: 2, sequenceNumber: 7)]))])
    }

    func testReceiverEstimatedMaximumBitrate() throws {
        // 1_000_000 bps = 250_000 (0x3D090) · 2^2; num SSRC 1.
        let bytes = hex("8F CE 0005  00000001 00000000  52454D42  01 0B D090  12345678")
        let remb = RTCPReceiverEstimatedMaximumBitrate(senderSSRC: 1, bitrate: 1_000_000, ssrcs: [0x1234_5678])
        XCTAssertEqual(remb.exponent, 2)
        XCTAssertEqual(remb.mantissa, 0x3D090)
        XCTAssertEqual(remb.bitrate, 1_000_000)
        XCTAssertEqual(try RTCPCompound.parse(bytes), [.receiverEstimatedMaximumBitrate(remb)])
        XCTAssertEqual(RTCPCompound.build([remb]), bytes)
    }

    func testREMBBitrateSaturates() {
        let remb = RTCPReceiverEstimatedMaximumBitrate(senderSSRC: 1, exponent: 63, mantissa: 0x3FFFF, ssrcs: [])
        XCTAssertEqual(remb.bitrate, UInt64.max)
        XCTAssertEqual(RTCPReceiverEstimatedMaximumBitrate(senderSSRC: 1, bitrate: 0x3FFFF, ssrcs: []).exponent, 0)
    }

    func testREMBWithMissingSSRCsIsTooShort() {
        // Num SSRC says 2, one present.
        assertRTPError(.rtcpPacketTooShort(offset: 0, packetType: 206, needed: 24, available: 20)) {
            try RTCPCompound.parse(hex("8F CE 0005  00000001 00000000  52454D42  02 0B D090  12345678"))
        }
    }

    func testOtherApplicationLayerFeedbackIsSkipped() throws {
        let bytes = hex("8F CE 0003  00000001 00000000  41424344")
        guard case .other(let header, let body) = try RTCPCompound.parse(bytes).first else { return XCTFail() }
        XCTAssertEqual(header.count, 15)
        XCTAssertEqual(header.packetType, 206)
        XCTAssertEqual(body, 4..<16)
    }
}
