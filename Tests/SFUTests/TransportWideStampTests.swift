import RTP
import XCTest
@testable import SFU

/// Stamping a copy with the subscriber's transport-wide sequence number
/// (issue 12, point 2): rewritten in place when the publisher's packet has
/// its own, otherwise added, with everything else in the packet intact.
final class TransportWideStampTests: XCTestCase {
    private let payload: [UInt8] = [0xDE, 0xAD, 0xBE, 0xEF, 0x01]

    /// Copies `packet` as the forwarder does and stamps it; returns the copy.
    private func stamp(_ packet: [UInt8], originalID: UInt8, id: UInt8 = 7, sequence: UInt16 = 0xBEEF) throws -> [UInt8] {
        let header = try RTPHeader(parsing: packet)
        var out = [UInt8](repeating: 0xAA, count: packet.count + ForwardedPacket.transportWideGrowth + 4)
        let length = out.withUnsafeMutableBytes { raw -> Int in
            let written = ForwardedPacket.write(packet, header: header, into: raw, ssrc: 0x1111, sequence: 5, timestamp: 6,
                                                payloadType: 96, remap: nil)
            let stamped = ForwardedPacket.stampTransportWide(raw, length: written, original: packet, header: header,
                                                             originalID: originalID, id: id, sequence: sequence)
            // The pacer numbers a held copy at this offset when it leaves.
            XCTAssertEqual(raw.load(fromByteOffset: stamped.sequenceAt, as: UInt8.self), UInt8(sequence >> 8))
            XCTAssertEqual(raw.load(fromByteOffset: stamped.sequenceAt + 1, as: UInt8.self), UInt8(sequence & 0xFF))
            return stamped.length
        }
        XCTAssertEqual(out[length], 0xAA, "nothing written past the copy")
        return Array(out[..<length])
    }

    private func check(_ copy: [UInt8], id: UInt8 = 7, sequence: UInt16 = 0xBEEF,
                       file: StaticString = #filePath, line: UInt = #line) throws -> RTPHeader {
        let h = try RTPHeader(parsing: copy)
        XCTAssertEqual(h.transportSequenceNumber(id: id, in: copy), sequence, file: file, line: line)
        XCTAssertEqual(Array(copy[h.payloadRange]), payload, file: file, line: line)
        XCTAssertEqual(h.ssrc, 0x1111, file: file, line: line)
        XCTAssertEqual(h.sequenceNumber, 5, file: file, line: line)
        return h
    }

    func testAddsAOneByteBlockWhenThereIsNoExtension() throws {
        let packet = try RTPPacketBuilder(payloadType: 111, sequenceNumber: 1, timestamp: 2, ssrc: 3, csrcs: [9, 10])
            .build(payload: payload)
        let copy = try stamp(packet, originalID: 0)
        XCTAssertEqual(copy.count, packet.count + 8)
        let h = try check(copy)
        XCTAssertEqual(h.extensionForm, .oneByte)
        XCTAssertEqual(h.csrc(at: 1, in: copy), 10)
    }

    func testAddsAnElementToAnExistingBlock() throws {
        let packet = try RTPPacketBuilder(payloadType: 111, sequenceNumber: 1, timestamp: 2, ssrc: 3, marker: false,
                                          extensions: [.audioLevel(id: 1, RTPAudioLevel(voiceActivity: true, level: 20)),
                                                       .init(id: 2, data: [1, 2, 3])])
            .build(payload: payload)
        let copy = try stamp(packet, originalID: 0)
        XCTAssertEqual(copy.count, packet.count + 4)
        let h = try check(copy)
        XCTAssertEqual(h.audioLevel(id: 1, in: copy)?.level, 20)
        XCTAssertEqual(h.extensionElement(id: 2, in: copy).map { Array(copy[$0]) }, [1, 2, 3])
    }

    func testRewritesThePublishersOwnElementInPlace() throws {
        let packet = try RTPPacketBuilder(payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3, marker: true,
                                          extensions: [.init(id: 3, data: [0x00, 0x42]),
                                                       .audioLevel(id: 1, RTPAudioLevel(voiceActivity: false, level: 90))])
            .build(payload: payload)
        let copy = try stamp(packet, originalID: 3)
        XCTAssertEqual(copy.count, packet.count)
        let h = try check(copy)
        XCTAssertNil(h.extensionElement(id: 3, in: copy), "the publisher's id is gone")
        XCTAssertEqual(h.audioLevel(id: 1, in: copy)?.level, 90)
        XCTAssertTrue(h.marker)
    }

    func testTwoByteFormAndPaddingSurvive() throws {
        // Hand-built: two-byte form (0x1000) with one element id 20 of 3 bytes, then payload and 3 bytes of padding.
        var packet: [UInt8] = [0xB0, 96, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3,
                               0x10, 0x00, 0x00, 0x02, 20, 3, 7, 8, 9, 0, 0, 0]
        packet += payload + [0, 0, 3]
        let copy = try stamp(packet, originalID: 0, id: 12)
        XCTAssertEqual(copy.count, packet.count + 4)
        let h = try check(copy, id: 12)
        XCTAssertEqual(h.extensionForm, .twoByte(appBits: 0))
        XCTAssertEqual(h.extensionElement(id: 20, in: copy).map { Array(copy[$0]) }, [7, 8, 9])
        XCTAssertEqual(h.paddingLength, 3)
    }

    func testAnOpaqueExtensionCannotBeStamped() throws {
        let packet: [UInt8] = [0x90, 96, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0x12, 0x34, 0x00, 0x01, 1, 2, 3, 4] + payload
        XCTAssertFalse(ForwardedPacket.canStampTransportWide(try RTPHeader(parsing: packet)))
        XCTAssertTrue(ForwardedPacket.canStampTransportWide(
            try RTPHeader(parsing: RTPPacketBuilder(payloadType: 1, sequenceNumber: 1, timestamp: 1, ssrc: 1).build(payload: payload))))
    }
}
