import RTP
import XCTest

/// Transport-wide congestion control feedback
/// (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1), built by hand
/// with a run-length chunk, a two-bit status vector chunk and a one-bit
/// status vector chunk, starting just before the sequence number wraps.
final class TransportWideFeedbackTests: XCTestCase {
    /// base 0xFFFE, 14 statuses, reference time -2 (×64 ms), fb count 7.
    /// Chunks:
    ///   0x2003: run length, S=01 (small delta), run 3            → FFFE FFFF 0000
    ///   0xE149: vector, 2-bit: 10 00 01 01 00 10 01             → 0001..0007
    ///   0xA7FF: vector, 1-bit: 1 0 0 1 then ignored ones        → 0008..000B
    /// Deltas: 04 00 FF | FF9C | 01 02 | 0100 | 03 04 05, then 2 pad bytes.
    static let bytes = """
        8F CD 0009  00000001 00000002
        FFFE 000E  FFFFFE 07
        2003 E149 A7FF
        04 00 FF  FF9C  01 02  0100  03 04  05  0000
        """

    func testParsesBothChunkTypes() throws {
        guard case .transportWideFeedback(let feedback) = try RTCPCompound.parse(hex(Self.bytes)).first else {
            return XCTFail("not transport-wide feedback")
        }
        XCTAssertEqual(feedback.senderSSRC, 1)
        XCTAssertEqual(feedback.mediaSSRC, 2)
        XCTAssertEqual(feedback.baseSequenceNumber, 0xFFFE)
        XCTAssertEqual(feedback.packetStatusCount, 14)
        XCTAssertEqual(feedback.referenceTime, -2)
        XCTAssertEqual(feedback.referenceTimeMilliseconds, -128)
        XCTAssertEqual(feedback.feedbackPacketCount, 7)

        typealias R = RTCPTransportWideFeedback.PacketResult
        let expected: [R] = [
            R(sequenceNumber: 0xFFFE, status: .receivedSmallDelta, receiveDelta: 4),
            R(sequenceNumber: 0xFFFF, status: .receivedSmallDelta, receiveDelta: 0),
            R(sequenceNumber: 0x0000, status: .receivedSmallDelta, receiveDelta: 255),
            R(sequenceNumber: 0x0001, status: .receivedLargeOrNegativeDelta, receiveDelta: -100),
            R(sequenceNumber: 0x0002, status: .notReceived, receiveDelta: 0),
            R(sequenceNumber: 0x0003, status: .receivedSmallDelta, receiveDelta: 1),
            R(sequenceNumber: 0x0004, status: .receivedSmallDelta, receiveDelta: 2),
            R(sequenceNumber: 0x0005, status: .notReceived, receiveDelta: 0),
            R(sequenceNumber: 0x0006, status: .receivedLargeOrNegativeDelta, receiveDelta: 256),
            R(sequenceNumber: 0x0007, status: .receivedSmallDelta, receiveDelta: 3),
            R(sequenceNumber: 0x0008, status: .receivedSmallDelta, receiveDelta: 4),
            R(sequenceNumber: 0x0009, status: .notReceived, receiveDelta: 0),
            R(sequenceNumber: 0x000A, status: .notReceived, receiveDelta: 0),
            R(sequenceNumber: 0x000B, status: .receivedSmallDelta, receiveDelta: 5),
        ]
        XCTAssertEqual(feedback.packets, expected)
        XCTAssertEqual(feedback.packets.map(\.received), expected.map { $0.status != .notReceived })
        XCTAssertEqual(feedback.packets[0].receiveDeltaMicroseconds, 1000)
        XCTAssertEqual(feedback.packets[3].receiveDeltaMicroseconds, -25_000)
        XCTAssertNil(feedback.packets[4].receiveDeltaMicroseconds)
    }

    func testLongRunOfLostPackets() throws {
        // One run-length chunk, S=00, run 8191; status count 5000 (run truncated to it).
        let feedback = hex("8F CD 0005  00000001 00000002  0010 1388  000000 00  1FFF 0000")
        guard case .transportWideFeedback(let parsed) = try RTCPCompound.parse(feedback).first else { return XCTFail() }
        XCTAssertEqual(parsed.packets.count, 5000)
        XCTAssertFalse(parsed.packets.contains(where: \.received))
        XCTAssertEqual(parsed.packets.last?.sequenceNumber, 0x0010 &+ 4999)
    }

    func testTruncatedDeltasAreRejected() {
        // Same packet cut before its last delta: the length says 9 words but
        // the deltas end early; rebuild the length so only the deltas lie.
        var cut = hex(Self.bytes)
        cut.removeLast(4)                    // drop the deltas "04 05" and the padding
        cut[3] = 0x08
        assertRTPError(.transportFeedbackTruncated(offset: 36)) { try RTCPCompound.parse(cut) }
    }

    func testTruncatedChunksAreRejected() {
        // Status count 30: a 14-symbol chunk, an empty run, then the packet ends.
        assertRTPError(.transportFeedbackTruncated(offset: 24)) {
            try RTCPCompound.parse(hex("8F CD 0005  00000001 00000002  0000 001E  000000 00  8000 0000"))
        }
    }

    func testReservedSymbolIsRejected() {
        // Run-length chunk with S=11.
        assertRTPError(.transportFeedbackReservedSymbol(offset: 20)) {
            try RTCPCompound.parse(hex("8F CD 0005  00000001 00000002  0000 0002  000000 00  6002 0000"))
        }
        // Reserved symbols past the status count are ignored: 2-bit vector,
        // first symbol 00, the other six 11.
        XCTAssertNoThrow(try RTCPCompound.parse(hex("8F CD 0005  00000001 00000002  0000 0001  000000 00  CFFF 0000")))
    }
}
