import CohortClient
import DTLS
import SDP
import XCTest
@testable import SFU

/// What the answer says about loss repair (RFC 4585 §4.2, RFC 4588 §8.6–8.7):
/// generic NACK and RTX are accepted exactly where the client offered them,
/// and each video slot names its RTX SSRC in an FID group.
final class AnswerRepairTests: XCTestCase {
    private func answer(lossRepair: Bool) throws -> (plan: OfferPlan, answer: SessionDescription) {
        let certificate = EngineHarness.certificate
        let client = ClientParticipant(publishAudio: true, publishVideo: true, slots: 2, certificate: certificate,
                                       lossRepair: lossRepair)
        let plan = try OfferPlan(offer: try SessionDescription.parse(client.offer.sdp), maxSlots: 4)
        let text = AnswerBuilder(ufrag: "ufr4", password: "pw0123456789012345678901", fingerprint: certificate.fingerprint,
                                 candidateHost: "127.0.0.1", candidatePort: 40000, participantID: "p1")
            .answer(for: plan, slotSSRCs: [.audio: [11, 12], .video: [21, 22]], videoSlotRTXSSRCs: [31, 32],
                    sessionVersion: 1)
        return (plan, try SessionDescription.parse(text))
    }

    func testOfferedNackAndRTXAreAcceptedWithAnFIDGroupPerSlot() throws {
        let (plan, answer) = try answer(lossRepair: true)
        XCTAssertEqual(plan.video?.repair, OfferPlan.Repair(rtxPayloadType: 97, nack: true, pli: true, fir: true))
        XCTAssertNotNil(plan.video?.rtxSSRC, "the client's FID group names its RTX SSRC")
        let video = answer.mediaSections.filter { $0.kind == .video }
        XCTAssertEqual(video.count, 3)
        for m in video {
            XCTAssertEqual(m.media.payloadTypes, [96, 97])
            let vp8 = try XCTUnwrap(m.codec(payloadType: 96))
            XCTAssertTrue(vp8.supportsFeedback("nack"))
            XCTAssertTrue(vp8.supportsFeedback("nack", parameter: "pli"))
            XCTAssertEqual(m.codec(payloadType: 97)?.associatedPayloadType, 96)
        }
        let slots = video.filter { $0.mid == "v0" || $0.mid == "v1" }
        XCTAssertEqual(slots.compactMap { m in m.primarySSRCs.first.flatMap(m.rtxSSRC(for:)) }, [31, 32])
        XCTAssertEqual(slots.map(\.primarySSRCs), [[21], [22]])
    }

    func testNoRepairIsAnsweredWhereNoneWasOffered() throws {
        let (plan, answer) = try answer(lossRepair: false)
        XCTAssertEqual(plan.video?.repair, OfferPlan.Repair(rtxPayloadType: nil, nack: false, pli: true, fir: true))
        for m in answer.mediaSections where m.kind == .video {
            XCTAssertEqual(m.media.payloadTypes, [96])
            XCTAssertFalse(m.codec(payloadType: 96)?.supportsFeedback("nack") ?? true, "no generic NACK unless offered")
            XCTAssertTrue(m.ssrcGroups.isEmpty)
        }
    }
}

/// Header extensions are answered per section, only where offered (RFC 8285
/// §5; issue 18, item 8: Firefox offers abs-send-time in video sections only
/// and rejected an answer that put it in audio sections too).
final class AnswerExtensionTests: XCTestCase {
    private static let audioLevel = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
    private static let sendTime = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"

    /// The client offer with abs-send-time left out of audio sections and
    /// the audio level left out of video sections, as Firefox offers them.
    private func firefoxShapedOffer() -> String {
        let client = ClientParticipant(publishAudio: true, publishVideo: true, slots: 2, certificate: EngineHarness.certificate)
        var kind = ""
        var lines: [String] = []
        for line in client.offer.sdp.components(separatedBy: "\r\n") where !line.isEmpty {
            if line.hasPrefix("m=") { kind = String(line.dropFirst(2).prefix { $0 != " " }) }
            if kind == "audio" && line.hasPrefix("a=extmap:") && line.hasSuffix(Self.sendTime) { continue }
            if kind == "video" && line.hasPrefix("a=extmap:") && line.hasSuffix(Self.audioLevel) { continue }
            lines.append(line)
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    func testExtensionsAreAnsweredOnlyInTheSectionsThatOfferedThem() throws {
        let offer = try SessionDescription.parse(firefoxShapedOffer())
        let offered = Dictionary(uniqueKeysWithValues: offer.mediaSections.compactMap { m in m.mid.map { ($0, Set(m.extMaps.map(\.uri))) } })
        XCTAssertTrue(offer.mediaSections.contains { $0.kind == .video && $0.extMaps.contains { $0.uri == Self.sendTime } },
                      "the offer still has abs-send-time in video")
        let plan = try OfferPlan(offer: offer, maxSlots: 4)
        let text = AnswerBuilder(ufrag: "ufr4", password: "pw0123456789012345678901", fingerprint: EngineHarness.certificate.fingerprint,
                                 candidateHost: "127.0.0.1", candidatePort: 40000, participantID: "p1")
            .answer(for: plan, slotSSRCs: [.audio: [11, 12], .video: [21, 22]], sessionVersion: 1)
        let answer = try SessionDescription.parse(text)
        var checked = 0
        for m in answer.mediaSections {
            guard let mid = m.mid, let mine = offered[mid] else { continue }
            let answered = Set(m.extMaps.map(\.uri))
            XCTAssertTrue(answered.isSubset(of: mine), "\(mid): answered \(answered) but offered \(mine)")
            if m.kind == .audio { XCTAssertEqual(answered, [Self.audioLevel], mid) }
            if m.kind == .video { XCTAssertEqual(answered, [Self.sendTime], mid) }
            checked += 1
        }
        XCTAssertEqual(checked, 6, "microphone, camera, two audio and two video slots")
    }
}
