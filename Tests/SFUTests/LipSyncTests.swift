import CohortClient
import CohortTestSupport
import RTP
import SDP
import SFU
import Wire
import XCTest

/// Lip sync through slots (issue 11 item 6): audio slot i and video slot i
/// share a media stream and hold the same person where the slot plan allows,
/// and their sender reports carry that person's own capture clock
/// (RFC 3550 §6.4.1), translated into each slot's RTP numbering.
final class LipSyncTests: XCTestCase {
    func testPairedSlotsCarryThePublishersCaptureClock() throws {
        let h = EngineHarness()
        let answer = try SessionDescription.parse(try h.join("sub", audio: false, video: false, slots: 2).answer)
        let streams = Dictionary(uniqueKeysWithValues: answer.mediaSections.compactMap { m in
            m.mid.flatMap { mid in m.msids.first.map { (mid, $0.streamID) } }
        })
        XCTAssertEqual(streams["a0"], streams["v0"], "audio slot 0 and video slot 0 are one media stream")
        XCTAssertEqual(streams["a1"], streams["v1"])
        XCTAssertNotEqual(streams["a0"], streams["a1"])
        try h.join("ann")
        try h.join("bob")
        let sub = h.clients["sub"]!.client
        // The publisher's clock: NTP 0x1000.0 s at audio RTP 1000 and video RTP 5000.
        let ntp0: UInt64 = 0x1000 << 32
        let audio0: UInt32 = 1_000, video0: UInt32 = 5_000
        var ts: UInt32 = 0
        for i in 0..<150 {
            for name in ["ann", "bob"] {
                let c = h.clients[name]!.client
                c.sendRTP(ssrc: c.offer.audioSSRC!, payloadType: ClientOffer.opusPayloadType, timestamp: audio0 &+ ts,
                          payload: Array("a:\(name):\(i)".utf8))
                c.sendRTP(ssrc: c.offer.videoSSRC!, payloadType: ClientOffer.vp8PayloadType, timestamp: video0 &+ ts &* 90 / 48,
                          marker: true, payload: [0x10, i == 0 ? 0x00 : 0x01] + Array("v:\(name):\(i)".utf8))
                if i == 100 {
                    // SRs for capture instant ts; the video SR's RTP time is 40 ms (3 600 ticks) behind the packets'
                    // numbering, i.e. a video packet stamped like an audio one was captured 40 ms after it.
                    let at = ntp0 &+ UInt64(ts) * (1 << 32) / 48_000
                    c.sendRTCP([RTCPSenderReport(ssrc: c.offer.audioSSRC!, ntpTimestamp: at, rtpTimestamp: audio0 &+ ts,
                                                 packetCount: 0, octetCount: 0),
                                RTCPSenderReport(ssrc: c.offer.videoSSRC!, ntpTimestamp: at, rtpTimestamp: video0 &+ ts &* 90 / 48 &- 3_600,
                                                 packetCount: 0, octetCount: 0)])
                }
            }
            ts &+= 960
            h.run(for: .milliseconds(20))
        }
        let slots = try XCTUnwrap(h.events.slots.last { $0.0 == h.participantIDs["sub"]! }?.1)
        let who = { (mid: String) in slots.first { $0.mid == mid }?.participantId }
        XCTAssertEqual(who("a0"), who("v0"), "audio slot 0 and video slot 0 hold the same person")
        XCTAssertEqual(who("a1"), who("v1"))
        var reports: [String: RTCPSenderReport] = [:]
        for event in h.received["sub"] ?? [] {
            guard case .rtcp(let bytes) = event else { continue }
            var reader = RTCPCompoundReader(bytes)
            while let p = try? reader.next() {
                if case .senderReport(let sr) = p, let mid = sub.midBySSRC[sr.ssrc] { reports[mid] = sr }
            }
        }
        // Map each pair's last packets to NTP through the slot reports: a
        // packet captured at publisher time T maps to T in both kinds.
        for i in 0..<2 {
            let a = try XCTUnwrap(reports["a\(i)"]), v = try XCTUnwrap(reports["v\(i)"])
            let audioPackets = h.rtpByMid("sub")["a\(i)"] ?? [], videoPackets = h.rtpByMid("sub")["v\(i)"] ?? []
            let lastAudio = try XCTUnwrap(audioPackets.last), lastVideo = try XCTUnwrap(videoPackets.last)
            func ntpSeconds(_ report: RTCPSenderReport, rtp: UInt32, rate: Double) -> Double {
                Double(report.ntpTimestamp) / 4_294_967_296 + Double(Int32(bitPattern: rtp &- report.rtpTimestamp)) / rate
            }
            // Both last packets carry the same capture tick; the publisher's reports put the video 40 ms later.
            let audioAt = ntpSeconds(a, rtp: lastAudio.header.timestamp, rate: 48_000)
            let videoAt = ntpSeconds(v, rtp: lastVideo.header.timestamp, rate: 90_000)
            XCTAssertEqual(videoAt - audioAt, 0.040, accuracy: 0.002, "slot \(i): the publisher's 40 ms capture offset survives")
            XCTAssertEqual(audioAt, Double(ntp0 >> 32) + Double(ts &- 960) / 48_000, accuracy: 0.002, "on the publisher's clock")
        }
    }
}
