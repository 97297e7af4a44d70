import RTP
import XCTest

/// Seeded mutation of valid packets through the fuzz entry points: thousands
/// of malformed inputs, none may trap. The entry points check their own
/// round-trip invariants with preconditions, so a parser bug crashes here.
final class RTPFuzzMutationTests: XCTestCase {
    static func rtpSeeds() throws -> [[UInt8]] {
        let level = RTPAudioLevel(voiceActivity: true, level: 30)
        return [
            try RTPPacketBuilder(payloadType: 111, sequenceNumber: 1, timestamp: 2, ssrc: 3).build(payload: [1, 2, 3]),
            try RTPPacketBuilder(payloadType: 96, sequenceNumber: 0xFFFF, timestamp: 0xFFFF_FFFF, ssrc: 4, marker: true,
                                 csrcs: [5, 6, 7], extensions: [.audioLevel(id: 1, level), .init(id: 3, data: [9, 9, 9])],
                                 paddingLength: 4).build(payload: Array(repeating: 0xAB, count: 40)),
            hex("90 6F 0007 00000100 AABBCCDD  1000 0003  01 00  02 01 DD  00  C8 04 01020304  F00D"),
            hex("90 6F 0007 00000100 AABBCCDD  ABCD 0001  11223344  F00D"),
        ]
    }

    static func rtcpSeeds() -> [[UInt8]] {
        let block = RTCPReportBlock(ssrc: 1, fractionLost: 2, cumulativeLost: -3, extendedHighestSequenceNumber: 4,
                                    jitter: 5, lastSenderReport: 6, delaySinceLastSenderReport: 7)
        return [
            RTCPCompound.build([
                RTCPSenderReport(ssrc: 1, ntpTimestamp: 2, rtpTimestamp: 3, packetCount: 4, octetCount: 5, reportBlocks: [block]),
                RTCPSourceDescription(chunks: [.init(ssrc: 1, cname: "abc"), .init(ssrc: 2, cname: "defgh")]),
                RTCPGoodbye(sources: [1, 2], reason: Array("gone".utf8)),
            ]),
            RTCPCompound.build([
                RTCPReceiverReport(ssrc: 9, reportBlocks: [block, block]),
                RTCPNack(senderSSRC: 1, mediaSSRC: 2, lostSequenceNumbers: [1, 3, 5, 40, 65535]),
                RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: 2),
                RTCPFullIntraRequest(senderSSRC: 1, entries: [.init(ssrc: 2, sequenceNumber: 3)]),
                RTCPReceiverEstimatedMaximumBitrate(senderSSRC: 1, bitrate: 2_500_000, ssrcs: [2, 3]),
            ]),
            hex("""
                8F CD 0009  00000001 00000002  FFFE 000E  FFFFFE 07  2003 E149 A7FF
                04 00 FF  FF9C  01 02  0100  03 04  05  0000
                """),
        ]
    }

    /// One random edit: flip bits, set bytes, truncate, extend, or splice.
    static func mutate(_ input: [UInt8], _ rng: inout SeededRandomForTests) -> [UInt8] {
        var bytes = input
        for _ in 0..<(1 + rng.int(4)) {
            switch rng.int(6) {
            case 0 where !bytes.isEmpty:
                bytes[rng.int(bytes.count)] ^= 1 << UInt8(rng.int(8))
            case 1 where !bytes.isEmpty:
                bytes[rng.int(bytes.count)] = [0, 0xFF, 0x7F, 0x80, 0x0F, 0xBE, 0xDE, 0x10][rng.int(8)]
            case 2 where !bytes.isEmpty:
                bytes.removeLast(rng.int(bytes.count) / 2 + 1)
            case 3:
                bytes += (0..<rng.int(12)).map { _ in rng.byte() }
            case 4 where bytes.count > 4:
                let at = rng.int(bytes.count)
                bytes.insert(contentsOf: bytes[at..<min(bytes.count, at + 1 + rng.int(8))], at: rng.int(bytes.count))
            default:
                if bytes.count >= 2 { bytes[rng.int(bytes.count)] = rng.byte() }
            }
        }
        return bytes
    }

    func testRTPMutationsNeverTrap() throws {
        var rng = SeededRandomForTests(seed: 0xC0_4087)
        let seeds = try Self.rtpSeeds()
        var parsed = 0
        for i in 0..<20_000 {
            let input = Self.mutate(seeds[i % seeds.count], &rng)
            RTPFuzz.run(input)
            RTCPFuzz.run(input)
            if (try? RTPHeader(parsing: input)) != nil { parsed += 1 }
        }
        // The mutations must still reach the code behind the validation.
        XCTAssertGreaterThan(parsed, 2_000)
    }

    func testRTCPMutationsNeverTrap() {
        var rng = SeededRandomForTests(seed: 0x5_0506)
        let seeds = Self.rtcpSeeds()
        var packets = 0
        for i in 0..<20_000 {
            let input = Self.mutate(seeds[i % seeds.count], &rng)
            RTCPFuzz.run(input)
            RTPFuzz.run(input)
            var reader = RTCPCompoundReader(input)
            while true {
                do {
                    guard try reader.next() != nil else { break }
                    packets += 1
                } catch {
                    continue
                }
            }
        }
        XCTAssertGreaterThan(packets, 20_000)
    }

    func testRandomBytesNeverTrap() {
        var rng = SeededRandomForTests(seed: 42)
        for _ in 0..<20_000 {
            var input = (0..<rng.int(80)).map { _ in rng.byte() }
            if !input.isEmpty { input[0] = 0x80 | (input[0] & 0x3F) }   // version 2, so parsing goes deeper
            RTPFuzz.run(input)
            RTCPFuzz.run(input)
        }
    }
}
