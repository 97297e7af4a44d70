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
