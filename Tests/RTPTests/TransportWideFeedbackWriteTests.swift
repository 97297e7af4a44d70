import CohortTestSupport
import RTP
import XCTest

/// Writing transport-wide feedback: the bytes of a hand-checked packet, and
/// round trips through the parser for every chunk kind.
final class TransportWideFeedbackWriteTests: XCTestCase {
    typealias R = RTCPTransportWideFeedback.PacketResult

    /// `TransportWideFeedbackTests`' hand-built packet, parsed, written and
    /// parsed again: the writer picks its own chunks for its statuses, which
    /// must read back the same.
    func testRoundTripOfMixedStatuses() throws {
        guard case .transportWideFeedback(let feedback) = try RTCPCompound.parse(hex(TransportWideFeedbackTests.bytes)).first
        else { return XCTFail("not transport-wide feedback") }
        XCTAssertEqual(Set(feedback.packets.map { $0.status.rawValue }).count, 3, "every status kind is in it")
        let bytes = RTCPCompound.build([feedback])
        XCTAssertEqual(bytes.count % 4, 0)
        guard case .transportWideFeedback(let parsed) = try RTCPCompound.parse(bytes).first else {
            return XCTFail("not transport-wide feedback")
        }
        XCTAssertEqual(parsed, feedback)
    }

    /// Exact bytes for a simple case: 3 received (small), a run of 10 lost,
    /// 1 received: chunks 0x8000|1-bit vector of 14 (1 1 1 0 … 0 1), deltas 01 02 03 04.
    func testBytesOfOneBitVector() {
        var results: [R] = [
            R(sequenceNumber: 10, status: .receivedSmallDelta, receiveDelta: 1),
            R(sequenceNumber: 11, status: .receivedSmallDelta, receiveDelta: 2),
            R(sequenceNumber: 12, status: .receivedSmallDelta, receiveDelta: 3),
        ]
        for seq in 13...22 { results.append(R(sequenceNumber: UInt16(seq), status: .notReceived, receiveDelta: 0)) }
        results.append(R(sequenceNumber: 23, status: .receivedSmallDelta, receiveDelta: 4))
        let feedback = RTCPTransportWideFeedback(senderSSRC: 1, mediaSSRC: 0, baseSequenceNumber: 10,
                                                 referenceTime: 5, feedbackPacketCount: 1, packets: results)
        // A run of 3 (< 7) at the start and no large delta among the 14: one
        // one-bit vector, 1 1 1 0×10 1 = 0x8000 | 0x3800 | 0x0001. 26 bytes,
        // padded to 28: length 6.
        XCTAssertEqual(RTCPCompound.build([feedback]), hex("""
            8F CD 0006  00000001 00000000  000A 000E  000005 01
            B801
            01 02 03 04  0000
            """))
    }

    func testLongRunsUseRunLengthChunks() throws {
        var results: [R] = []
        for i in 0..<20_000 {
            let received = i % 5000 >= 10
            results.append(R(sequenceNumber: UInt16(truncatingIfNeeded: 65_000 + i),
                             status: received ? .receivedSmallDelta : .notReceived, receiveDelta: received ? 2 : 0))
        }
        let feedback = RTCPTransportWideFeedback(senderSSRC: 9, mediaSSRC: 0, baseSequenceNumber: 65_000,
                                                 referenceTime: 0x7F_FFFF, feedbackPacketCount: 255, packets: results)
        let bytes = RTCPCompound.build([feedback])
        // Runs of 8191 at most: 20 000 statuses in well under 20 000 × 2 bits.
        XCTAssertLessThan(bytes.count, 20 + 16 * 2 + 19_960 + 4)
        guard case .transportWideFeedback(let parsed) = try RTCPCompound.parse(bytes).first else { return XCTFail() }
        XCTAssertEqual(parsed, feedback)
    }

    func testRandomRoundTrips() throws {
        var random = SeededRandom(seed: 0x7CC)
        for _ in 0..<200 {
            let count = Int.random(in: 1...300, using: &random)
            let base = UInt16.random(in: 0...UInt16.max, using: &random)
            var results: [R] = []
            for i in 0..<count {
                let seq = base &+ UInt16(i)
                switch Int.random(in: 0..<10, using: &random) {
                case 0..<2: results.append(R(sequenceNumber: seq, status: .notReceived, receiveDelta: 0))
                case 2..<8: results.append(R(sequenceNumber: seq, status: .receivedSmallDelta,
                                             receiveDelta: Int32.random(in: 0...255, using: &random)))
                default: results.append(R(sequenceNumber: seq, status: .receivedLargeOrNegativeDelta,
                                          receiveDelta: Int32.random(in: -32768...32767, using: &random)))
                }
            }
            let feedback = RTCPTransportWideFeedback(senderSSRC: 3, mediaSSRC: 4, baseSequenceNumber: base,
                                                     referenceTime: Int32.random(in: -0x80_0000...0x7F_FFFF, using: &random),
                                                     feedbackPacketCount: UInt8.random(in: 0...255, using: &random),
                                                     packets: results)
            guard case .transportWideFeedback(let parsed) = try RTCPCompound.parse(RTCPCompound.build([feedback])).first
            else { return XCTFail() }
            XCTAssertEqual(parsed, feedback)
        }
    }
}
