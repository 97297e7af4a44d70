import Wire
import XCTest
@testable import RTP

/// RFC 4588 §4 retransmission packets, hand-assembled in hex: writing the
/// RTX form of a cached original and unwrapping a received one.
final class RTXPacketRFC4588Tests: XCTestCase {
    /// The subscriber's RTX stream in these vectors: SSRC 0x55667788,
    /// sequence 7, PT 97, slot timestamp 0x0A0B0C0D, OSN 0x4321.
    private func writeRTX(_ original: [UInt8], originalSequence: UInt16 = 0x4321,
                          timestamp: UInt32 = 0x0A0B_0C0D) throws -> [UInt8] {
        let header = try RTPHeader(parsing: original)
        var out = [UInt8](repeating: 0xEE, count: original.count + RTXPacket.osnLength)
        let length = out.withUnsafeMutableBytes {
            RTXPacket.write(original: original, header: header, into: $0, ssrc: 0x5566_7788, sequence: 7,
                            timestamp: timestamp, payloadType: 97, originalSequence: originalSequence)
        }
        XCTAssertEqual(length, RTXPacket.length(of: header))
        return Array(out[..<length])
    }

    private func unwrap(_ rtx: [UInt8]) throws -> (packet: [UInt8], osn: UInt16?) {
        var packet = rtx
        let header = try RTPHeader(parsing: packet)
        let osn = RTXPacket.unwrap(&packet, header: header, primarySSRC: 0x1122_3344, primaryPayloadType: 96)
        return (packet, osn)
    }

    /// Fixed header only; M=1, PT 96, seq 0x1234, ts 123456, SSRC 0x11223344.
    private let plain = hex("80 E0 12 34  00 01 E2 40  11 22 33 44  DE AD BE EF")

    func testPlainPacket() throws {
        let rtx = try writeRTX(plain)
        // Marker kept, PT 97, seq 7, the slot timestamp, RTX SSRC, OSN, payload.
        XCTAssertEqual(rtx, hex("80 E1 00 07  0A 0B 0C 0D  55 66 77 88  43 21  DE AD BE EF"))
        let parsed = try RTPHeader(parsing: rtx)
        XCTAssertEqual(parsed.payloadRange, 12..<18)

        let (back, osn) = try unwrap(rtx)
        XCTAssertEqual(osn, 0x4321)
        XCTAssertEqual(back, hex("80 E0 43 21  0A 0B 0C 0D  11 22 33 44  DE AD BE EF"))
    }

    /// P=1, X=1, CC=1: a CSRC, a one-byte extension (id 1, one byte 0xAB,
    /// two bytes of element padding), payload 01 02 03, four bytes of RTP
    /// padding (count octet 4).
    private let rich = hex("""
        B1 60 12 34  00 01 E2 40  11 22 33 44
        CA FE BA BE
        BE DE 00 01  10 AB 00 00
        01 02 03
        00 00 00 04
        """)

    func testExtensionAndCSRCKeptPaddingDropped() throws {
        let original = try RTPHeader(parsing: rich)
        XCTAssertEqual(original.paddingLength, 4)
        XCTAssertEqual(original.payloadRange, 24..<27)
        let rtx = try writeRTX(rich)
        XCTAssertEqual(rtx, hex("""
            91 61 00 07  0A 0B 0C 0D  55 66 77 88
            CA FE BA BE
            BE DE 00 01  10 AB 00 00
            43 21
            01 02 03
            """))
        let parsed = try RTPHeader(parsing: rtx)
        XCTAssertFalse(parsed.hasPadding)
        XCTAssertEqual(parsed.csrc(at: 0, in: rtx), 0xCAFE_BABE)
        XCTAssertEqual(parsed.extensionElements(in: rtx).map { rtx[$0.range] }, [[0xAB]])

        let (back, osn) = try unwrap(rtx)
        XCTAssertEqual(osn, 0x4321)
        XCTAssertEqual(back, hex("""
            91 60 43 21  0A 0B 0C 0D  11 22 33 44
            CA FE BA BE
            BE DE 00 01  10 AB 00 00
            01 02 03
            """))
    }

    /// write then unwrap with the original's own timestamp and sequence
    /// number gives back the original (minus its padding).
    func testRoundTrip() throws {
        let withExtension = hex("90 60 FF FF  00 00 00 01  11 22 33 44  BE DE 00 01  22 01 02 00  77 88")
        for original in [plain, withExtension] {
            let header = try RTPHeader(parsing: original)
            let rtx = try writeRTX(original, originalSequence: header.sequenceNumber, timestamp: header.timestamp)
            let (back, osn) = try unwrap(rtx)
            XCTAssertEqual(osn, header.sequenceNumber)
            XCTAssertEqual(back, original)
        }
        let header = try RTPHeader(parsing: rich)
        let (back, _) = try unwrap(try writeRTX(rich, originalSequence: 0x1234, timestamp: 123_456))
        XCTAssertEqual(back, [rich[0] & ~0x20] + rich[1..<header.payloadRange.upperBound])
    }

    /// An RTX packet with its own padding: the padding goes with the OSN.
    func testUnwrapDropsTheRetransmissionsPadding() throws {
        let rtx = hex("A0 61 00 07  0A 0B 0C 0D  55 66 77 88  43 21  DE AD  00 00 03")
        let (back, osn) = try unwrap(rtx)
        XCTAssertEqual(osn, 0x4321)
        XCTAssertEqual(back, hex("80 60 43 21  0A 0B 0C 0D  11 22 33 44  DE AD"))
        XCTAssertFalse(try RTPHeader(parsing: back).hasPadding)
    }

    /// Padding-only RTX packets are bandwidth probes (RFC 4588 §4 needs an
    /// OSN): nil, packet untouched. An OSN with an empty payload is an original.
    func testProbeIsNotAnOriginal() throws {
        for probe in [hex("A0 61 00 08  0A 0B 0C 0D  55 66 77 88  00 00 00 04"),
                      hex("80 61 00 08  0A 0B 0C 0D  55 66 77 88  43")] {
            let (back, osn) = try unwrap(probe)
            XCTAssertNil(osn)
            XCTAssertEqual(back, probe)
        }
        let (back, osn) = try unwrap(hex("80 61 00 08  0A 0B 0C 0D  55 66 77 88  43 21"))
        XCTAssertEqual(osn, 0x4321)
        XCTAssertEqual(back, hex("80 60 43 21  0A 0B 0C 0D  11 22 33 44"))
    }

    func testWritesIntoALargerBufferWithoutTouchingTheRest() throws {
        let header = try RTPHeader(parsing: plain)
        var out = [UInt8](repeating: 0xEE, count: 40)
        let length = out.withUnsafeMutableBytes {
            RTXPacket.write(original: plain, header: header, into: $0, ssrc: 1, sequence: 2,
                            timestamp: 3, payloadType: 97, originalSequence: 4)
        }
        XCTAssertEqual(length, 18)
        XCTAssertEqual(out[18...], ArraySlice(repeating: 0xEE, count: 22))
    }
}

/// Bytes from hex digits; spaces and newlines are ignored.
private func hex(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var high: UInt8?
    for c in text.unicodeScalars {
        let v: UInt8
        switch c.value {
        case 0x30...0x39: v = UInt8(c.value - 0x30)
        case 0x41...0x46: v = UInt8(c.value - 0x41 + 10)
        case 0x61...0x66: v = UInt8(c.value - 0x61 + 10)
        default: continue
        }
        if let h = high { bytes.append(h << 4 | v); high = nil } else { high = v }
    }
    precondition(high == nil, "odd number of hex digits")
    return bytes
}
