import CohortClient
import CohortTestSupport
import Congestion
import RTP
import SDP
import Wire
import XCTest
@testable import SFU

/// VP8 simulcast (issue 12, point 3): the offer's rids are answered, each
/// layer's SSRC is learned from its RtpStreamId, a subscriber's slot
/// forwards the layer its downlink allocation chose and moves only at a
/// keyframe of the new layer, with one continuous stream of sequence
/// numbers, timestamps, picture ids and TL0PICIDX.
final class SimulcastTests: XCTestCase {
    static let rids = ["q", "h", "f"]
    /// Bytes per packet of each layer (one packet a frame, 100 frames a
    /// second: about 100, 260 and 660 kbit/s) and its width.
    static let sizes = [120, 320, 820]
    static let widths = [160, 320, 640]

    private var frame = 0

    // MARK: Offer and answer

    func testRIDsAreAnsweredAsReceiveRIDsWithTheirExtensionsOnTheVideoSectionOnly() throws {
        let h = EngineHarness()
        let answer = try h.join("pub", lossRepair: true, transportWide: true, simulcast: Self.rids).answer
        let sdp = try SessionDescription.parse(answer)
        let own = try XCTUnwrap(sdp.mediaSections.first { $0.mid == "v" })
        XCTAssertEqual(own.rids.map(\.id), Self.rids)
        XCTAssertEqual(own.rids.map(\.direction), [.recv, .recv, .recv])
        XCTAssertEqual(own.simulcast?.recvRIDs, Self.rids)
        XCTAssertEqual(own.extensionID(for: OfferPlan.ridExtension), UInt16(ClientOffer.ridID))
        XCTAssertEqual(own.extensionID(for: OfferPlan.repairedRIDExtension), UInt16(ClientOffer.repairedRIDID))
        for section in sdp.mediaSections where section.mid != "v" {
            XCTAssertTrue(section.rids.isEmpty, "rids only where offered (\(section.mid ?? "?"))")
            XCTAssertNil(section.simulcast)
            XCTAssertNil(section.extensionID(for: OfferPlan.ridExtension), "RFC 8285: only in the section that offered it")
        }
        let layers = try XCTUnwrap(h.engine.participant(h.participantIDs["pub"]!)?.video?.layers)
        XCTAssertEqual(layers.map { String(decoding: $0.rid, as: UTF8.self) }, Self.rids)
        XCTAssertEqual(layers.map(\.ssrc), [nil, nil, nil], "Chrome declares no SSRCs with rids")
    }

    func testWithoutTheRIDExtensionOrWithOneRIDThereIsNoSimulcast() throws {
        var offer = ClientOffer(ufrag: "ufrag", password: String(repeating: "p", count: 24),
                                fingerprint: EngineHarness.certificate.fingerprint, audioSSRC: nil, videoSSRC: 9, slots: 0)
        offer.simulcast = [("q", 7), ("f", 9)]
        let noExtension = offer.sdp.replacingOccurrences(of: "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n", with: "")
        XCTAssertEqual(try OfferPlan(offer: SessionDescription.parse(noExtension), maxSlots: 4).video?.simulcast, [])
        offer.simulcast = [("f", 9)]
        XCTAssertEqual(try OfferPlan(offer: SessionDescription.parse(offer.sdp), maxSlots: 4).video?.simulcast, [])
        // A rid in a=simulcast without its a=rid send line is not a layer.
        offer.simulcast = [("q", 7), ("h", 8), ("f", 9)]
        let missingRID = offer.sdp.replacingOccurrences(of: "a=rid:h send\r\n", with: "")
        XCTAssertEqual(try OfferPlan(offer: SessionDescription.parse(missingRID), maxSlots: 4).video?.simulcast.map(\.rid), ["q", "f"])
    }

    func testASIMGroupGivesLayersBySSRCWithTheirRTX() throws {
        var offer = ClientOffer(ufrag: "ufrag", password: String(repeating: "p", count: 24),
                                fingerprint: EngineHarness.certificate.fingerprint, audioSSRC: nil, videoSSRC: 11, slots: 0)
        offer.lossRepair = true
        offer.videoRTXSSRC = 12
        let sdp = offer.sdp.replacingOccurrences(
            of: "a=ssrc-group:FID 11 12\r\n",
            with: "a=ssrc-group:SIM 11 21 31\r\na=ssrc-group:FID 11 12\r\na=ssrc-group:FID 21 22\r\na=ssrc-group:FID 31 32\r\n")
        let plan = try OfferPlan(offer: SessionDescription.parse(sdp), maxSlots: 4)
        XCTAssertEqual(plan.video?.simulcast, [.init(rid: "", ssrc: 11, rtxSSRC: 12), .init(rid: "", ssrc: 21, rtxSSRC: 22),
                                               .init(rid: "", ssrc: 31, rtxSSRC: 32)])
        XCTAssertNil(plan.ridID)
        let answer = AnswerBuilder(ufrag: "u", password: "p", fingerprint: EngineHarness.certificate.fingerprint,
                                   candidateHost: "127.0.0.1", candidatePort: 1, participantID: "x")
            .answer(for: plan, slotSSRCs: [:], sessionVersion: 1)
        XCTAssertFalse(answer.contains("a=rid"), "a SIM group is not answered with rids")
    }

    // MARK: Learning layers

    func testLayersAreLearnedFromTheirRIDAndUnplaceablePacketsAreCountedAndDropped() throws {
        let (h, _) = try call()
        let pub = h.clients["pub"]!.client
        let layers = try XCTUnwrap(h.engine.participant(h.participantIDs["pub"]!)?.video?.layers)
        XCTAssertEqual(layers.map(\.ssrc), pub.offer.simulcast.map(\.ssrc))
        XCTAssertEqual(layers.map(\.width), Self.widths.map { Optional($0) }, "widths from the layers' keyframes")

        let forwarded = h.engine.counters.videoPacketsForwarded
        // An unknown rid, and an unknown SSRC without the extension.
        pub.sendRTP(ssrc: 0xBAD, payloadType: ClientOffer.vp8PayloadType, timestamp: 1,
                    extensions: [.init(id: ClientOffer.ridID, data: Array("x".utf8))], payload: [0x10, 0x00])
        pub.sendRTP(ssrc: 0xBAD2, payloadType: ClientOffer.vp8PayloadType, timestamp: 1, payload: [0x10, 0x00])
        h.run(for: .milliseconds(10))
        XCTAssertEqual(h.engine.counters.simulcastUnknownRID, 1)
        XCTAssertEqual(h.engine.counters.simulcastMissingRID, 1)
        XCTAssertEqual(h.engine.counters.videoPacketsForwarded, forwarded)
        XCTAssertEqual(h.engine.participant(h.participantIDs["pub"]!)?.video?.layers.map(\.ssrc),
                       pub.offer.simulcast.map(\.ssrc), "no layer rebound")
    }

    // MARK: Switching

    func testASlotSwitchesLayersOnlyAtTheTargetLayersKeyframeAndStaysOneContinuousStream() throws {
        let (h, _) = try call()
        var start = h.received["sub"]?.count ?? 0
        allocate(h, budget: 3_000_000)
        run(h, frames: 100)
        XCTAssertEqual(Set(layersReceived(h, since: start).map(\.layer)), [2], "the top layer with room for it")

        // Short of the top layer for over 2 s (the allocation shares the best
        // estimate of the last 2 s): the slot aims at q and asks q for a keyframe.
        start = h.received["sub"]?.count ?? 0
        allocate(h, budget: 250_000)
        run(h, frames: 210)
        XCTAssertEqual(slot(h).targetLayer, 2, "a dip shorter than 2 s changes nothing")
        let asked = keyframeRequests(h, layer: 0)
        allocate(h, budget: 250_000)
        XCTAssertEqual(slot(h).targetLayer, 0)
        run(h, frames: 60)
        XCTAssertGreaterThan(keyframeRequests(h, layer: 0), asked, "a keyframe asked of the target layer")
        var got = layersReceived(h, since: start)
        let switchAt = try XCTUnwrap(got.firstIndex { $0.layer == 0 })
        XCTAssertGreaterThan(switchAt, 150, "the top layer kept flowing for 2 s and until q's keyframe")
        XCTAssertTrue(got[..<switchAt].allSatisfy { $0.layer == 2 })
        XCTAssertTrue(got[switchAt].keyframe, "the switch is at q's keyframe")
        XCTAssertTrue(got[switchAt...].allSatisfy { $0.layer == 0 }, "nothing of f after the switch")
        assertContinuous(got)
        XCTAssertEqual(h.engine.counters.layerSwitches, 1)

        // Room again: up to f after the 2 s hold, at f's keyframe.
        start = h.received["sub"]?.count ?? 0
        allocate(h, budget: 3_000_000)
        XCTAssertEqual(slot(h).targetLayer, 0, "held for 2 s after going down")
        run(h, frames: 210)
        allocate(h, budget: 3_000_000)
        XCTAssertEqual(slot(h).targetLayer, 2)
        run(h, frames: 60)
        got = layersReceived(h, since: start)
        let up = try XCTUnwrap(got.firstIndex { $0.layer == 2 })
        XCTAssertTrue(got[up].keyframe)
        XCTAssertTrue(got[..<up].allSatisfy { $0.layer == 0 })
        XCTAssertTrue(got[up...].allSatisfy { $0.layer == 2 })
        assertContinuous(got)
        XCTAssertEqual(h.engine.counters.layerSwitches, 2)
    }

    func testTheRenderedWidthCapsTheLayer() throws {
        let (h, _) = try call()
        let sub = try XCTUnwrap(h.participantIDs["sub"])
        allocate(h, budget: 3_000_000)
        XCTAssertEqual(slot(h).targetLayer, 2)
        // The client's `tile-widths`; a mid that is not one of its video slots is refused.
        XCTAssertThrowsError(try h.engine.perform(.setTileWidths(["v0": 300, "nope": 1]), by: sub, now: h.clock.now))
        try h.engine.perform(.setTileWidths(["v0": 300]), by: sub, now: h.clock.now)
        XCTAssertEqual(slot(h).renderedWidth, 300)
        allocate(h, budget: 3_000_000)
        XCTAssertEqual(slot(h).targetLayer, 1, "h (320 wide) covers a 300-pixel tile")
        try h.engine.perform(.setTileWidths(["v0": 0]), by: sub, now: h.clock.now)
        allocate(h, budget: 3_000_000)
        XCTAssertTrue(slot(h).isPaused, "a tile not shown gets nothing")
    }

    /// A subscriber without transport-cc (aiortc, an older app) has no
    /// downlink estimate, but its tile widths still pick the layer, at once,
    /// and a hidden tile still pauses.
    func testWithoutTransportCCTheRenderedWidthStillPicksTheLayer() throws {
        let (h, _) = try call(transportWide: false)
        let sub = try XCTUnwrap(h.participantIDs["sub"])
        XCTAssertNil(h.engine.participant(sub)?.subscriber.bandwidth)
        XCTAssertEqual(slot(h).layer, 2, "the top layer while the client has not said")
        let asked = keyframeRequests(h, layer: 0)
        try h.engine.perform(.setTileWidths(["v0": 150]), by: sub, now: h.clock.now)
        XCTAssertEqual(slot(h).targetLayer, 0, "q (160 wide) covers a 150-pixel tile")
        XCTAssertEqual(keyframeRequests(h, layer: 0), asked + 1, "and q's keyframe is asked for")
        var start = h.received["sub"]?.count ?? 0
        run(h, frames: 60)
        var got = layersReceived(h, since: start)
        XCTAssertEqual(got.first?.layer, 2)
        XCTAssertEqual(got.last?.layer, 0, "moved to q at its keyframe")
        assertContinuous(got)

        try h.engine.perform(.setTileWidths(["v0": 0]), by: sub, now: h.clock.now)
        XCTAssertTrue(slot(h).isPaused, "a tile not shown gets nothing")
        XCTAssertEqual(h.engine.counters.videoSlotsPaused, 1)
        start = h.received["sub"]?.count ?? 0
        run(h, frames: 30)
        XCTAssertTrue(layersReceived(h, since: start).isEmpty)

        // Shown wider than any layer: the top layer, once the allocation
        // interval since the last decision has passed (the frames above).
        try h.engine.perform(.setTileWidths(["v0": 1_280]), by: sub, now: h.clock.now)
        XCTAssertFalse(slot(h).isPaused)
        XCTAssertEqual(slot(h).targetLayer, Int.max)
        start = h.received["sub"]?.count ?? 0
        run(h, frames: 60)
        got = layersReceived(h, since: start)
        XCTAssertEqual(got.first?.layer, 2)
        XCTAssertTrue(got.first?.keyframe ?? false, "resumed at f's keyframe")
        XCTAssertEqual(Set(got.map(\.layer)), [2])
    }

    /// A paused simulcast slot resumes at its lowest layer even with room for
    /// the top one, and goes up at a later allocation, once that keyframe came.
    func testAPausedSlotResumesAtItsLowestLayerThenGoesUp() throws {
        let (h, _) = try call()
        let sub = try XCTUnwrap(h.participantIDs["sub"])
        allocate(h, budget: 3_000_000)
        run(h, frames: 60)
        try h.engine.perform(.setTileWidths(["v0": 0]), by: sub, now: h.clock.now)
        allocate(h, budget: 3_000_000)
        XCTAssertTrue(slot(h).isPaused)
        run(h, frames: 30)
        try h.engine.perform(.setTileWidths(["v0": 1_280]), by: sub, now: h.clock.now)
        allocate(h, budget: 3_000_000)
        XCTAssertFalse(slot(h).isPaused)
        XCTAssertEqual(slot(h).targetLayer, 0, "resumed at q, not at f")
        let start = h.received["sub"]?.count ?? 0
        run(h, frames: 60)
        XCTAssertEqual(slot(h).layer, 0, "q's keyframe arrived")
        allocate(h, budget: 3_000_000)
        XCTAssertEqual(slot(h).targetLayer, 2, "then up")
        run(h, frames: 60)
        let got = layersReceived(h, since: start)
        XCTAssertEqual(got.first?.layer, 0)
        XCTAssertEqual(got.last?.layer, 2)
        assertContinuous(got)
    }

    // MARK: VP8 payload descriptor

    func testDescriptorVectors() throws {
        // X, S; I with M (15-bit 0x1234), L (TL0 0x56), T (TID byte); then a keyframe header 640x480.
        let long: [UInt8] = [0x90, 0xE0, 0x92, 0x34, 0x56, 0x40, 0x00, 0x00, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0xE0, 0x01]
        let d = try XCTUnwrap(VP8Descriptor(long, payload: 0..<long.count))
        XCTAssertEqual(d.pictureIDOffset, 2)
        XCTAssertTrue(d.longPictureID)
        XCTAssertEqual(d.pictureID, 0x1234)
        XCTAssertEqual(d.tl0Offset, 4)
        XCTAssertEqual(d.tl0PicIdx, 0x56)
        XCTAssertEqual(d.length, 6)
        XCTAssertEqual(VP8Descriptor.keyframeWidth(long, at: d.length, end: long.count), 640)
        var out = long
        out.withUnsafeMutableBytes { d.write(pictureID: 0x7FFF, tl0PicIdx: 0x01, into: $0, payload: 0) }
        XCTAssertEqual(Array(out[0..<6]), [0x90, 0xE0, 0xFF, 0xFF, 0x01, 0x40], "M kept, 15 bits written, TID untouched")

        // 7-bit picture id, no TL0, no T/K.
        let short: [UInt8] = [0x90, 0x80, 0x05, 0x01, 0xAA]
        let s = try XCTUnwrap(VP8Descriptor(short, payload: 0..<short.count))
        XCTAssertEqual(s.pictureID, 5)
        XCTAssertFalse(s.longPictureID)
        XCTAssertNil(s.tl0Offset)
        XCTAssertEqual(s.length, 3)
        XCTAssertNil(VP8Descriptor.keyframeWidth(short, at: s.length, end: short.count), "a delta frame has no size")
        out = short
        out.withUnsafeMutableBytes { s.write(pictureID: 0x1FF, tl0PicIdx: 9, into: $0, payload: 0) }
        XCTAssertEqual(out, [0x90, 0x80, 0x7F, 0x01, 0xAA], "7 bits written, nothing else touched")

        // No X: nothing to rewrite. Truncated descriptors are refused.
        let plain = try XCTUnwrap(VP8Descriptor([0x10, 0x00], payload: 0..<2))
        XCTAssertNil(plain.pictureIDOffset)
        XCTAssertEqual(plain.length, 1)
        XCTAssertNil(VP8Descriptor([0x90, 0xC0, 0x92], payload: 0..<3))
        XCTAssertNil(VP8Descriptor([0x90], payload: 0..<1))
        XCTAssertNil(VP8Descriptor([], payload: 0..<0))
    }

    func testPictureIDsContinueAcrossASwitchAndWrap() {
        var c = VP8PictureContinuity()
        func descriptor(_ id: UInt16, _ tl0: UInt8, long: Bool = true) -> VP8Descriptor {
            let bytes: [UInt8] = long ? [0x90, 0xC0, 0x80 | UInt8(id >> 8), UInt8(id & 0xFF), tl0] : [0x90, 0xC0, UInt8(id), tl0]
            return VP8Descriptor(bytes, payload: 0..<bytes.count)!
        }
        XCTAssertEqual(c.rewrite(descriptor(0x7FFE, 200)).pictureID, 0x7FFE, "the first source keeps its numbers")
        XCTAssertEqual(c.rewrite(descriptor(0x7FFF, 201)).pictureID, 0x7FFF)
        c.rebase()
        let first = c.rewrite(descriptor(17, 3))
        XCTAssertEqual(first.pictureID, 0, "continues after 0x7FFF, wrapping at 15 bits")
        XCTAssertEqual(first.tl0PicIdx, 202)
        XCTAssertEqual(c.rewrite(descriptor(18, 4)).pictureID, 1)
        XCTAssertEqual(c.rewrite(descriptor(16, 3)).pictureID, 0x7FFF, "a reordered packet maps back, and sets nothing back")
        c.rebase()
        XCTAssertEqual(c.rewrite(descriptor(100, 9)).pictureID, 2)
        // A retransmission of a packet of the current source carries the ids
        // its first copy had, and moves nothing.
        XCTAssertEqual(c.rewrite(descriptor(101, 9)).pictureID, 3)
        XCTAssertEqual(c.mapped(descriptor(100, 9)).pictureID, 2)
        XCTAssertEqual(c.mapped(descriptor(100, 9)).tl0PicIdx, c.rewrite(descriptor(102, 9)).tl0PicIdx)
        XCTAssertEqual(c.rewrite(descriptor(103, 10)).pictureID, 5)
    }

    // MARK: Helpers

    /// `pub` publishes three layers (no audio), `sub` receives with one
    /// video slot and (unless told not to) transport-cc; one second of media, every layer's
    /// first frame a keyframe.
    private func call(transportWide: Bool = true) throws -> (EngineHarness, [SlotAssignment]) {
        let h = EngineHarness()
        try h.join("pub", audio: false, slots: 1, transportWide: true, simulcast: Self.rids)
        let slots = try h.join("sub", audio: false, video: false, slots: 1, transportWide: transportWide).slots
        run(h, frames: 100)
        return (h, slots)
    }

    /// `frames` frames of 10 ms on every layer, one packet each: layer i's
    /// picture ids and timestamps start far apart, its keyframes come every
    /// 50 frames at a different phase (f at 0, q at 10, h at 20).
    private func run(_ h: EngineHarness, frames: Int) {
        let pub = h.clients["pub"]!.client
        for _ in 0..<frames {
            for (i, layer) in pub.offer.simulcast.enumerated() {
                let phase = [10, 20, 0][i]
                let key = frame % 50 == phase
                let picture = UInt16((1_000 * (i + 1) + frame) & 0x7FFF)
                var payload: [UInt8] = [0x90, 0xE0, 0x80 | UInt8(picture >> 8), UInt8(picture & 0xFF),
                                        UInt8(truncatingIfNeeded: 50 * i + frame), 0x00]
                payload += key ? [0x00, 0x00, 0x00, 0x9D, 0x01, 0x2A, UInt8(Self.widths[i] & 0xFF), UInt8(Self.widths[i] >> 8),
                                  0x78, 0x00]
                               : [0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]
                payload += [UInt8](repeating: UInt8(i), count: Self.sizes[i] - payload.count)
                pub.sendRTP(ssrc: layer.ssrc, payloadType: ClientOffer.vp8PayloadType,
                            timestamp: UInt32(i) &* 0x4000_0000 &+ UInt32(frame) &* 900, marker: true, payload: payload)
            }
            frame += 1
            h.run(for: .milliseconds(10))
        }
    }

    /// The estimate pinned at `bitrate`, then one feedback from `sub` so the allocation runs.
    private func allocate(_ h: EngineHarness, budget bitrate: Int) {
        let sub = h.engine.participant(h.participantIDs["sub"]!)!
        sub.subscriber.bandwidth = BandwidthEstimator(configuration: .init(initial: bitrate, minimum: bitrate, maximum: bitrate,
                                                                           settleTime: .milliseconds(0)))
        sub.subscriber.nextAllocation = .zero
        h.clients["sub"]!.client.sendRTCP([RTCPTransportWideFeedback(
            senderSSRC: 1, mediaSSRC: 0, baseSequenceNumber: 0, referenceTime: 0, feedbackPacketCount: 0,
            packets: [.init(sequenceNumber: 0, status: .notReceived, receiveDelta: 0)])])
        h.run(for: .milliseconds(5))
    }

    private func slot(_ h: EngineHarness) -> SubscribedSlot {
        h.engine.participant(h.participantIDs["sub"]!)!.subscriber.video[0]
    }

    private func keyframeRequests(_ h: EngineHarness, layer: Int) -> Int {
        h.engine.participant(h.participantIDs["pub"]!)!.video!.layers[layer].keyframes.requestsReceived
    }

    struct Received {
        var layer: Int
        var keyframe: Bool
        var sequence: UInt16
        var timestamp: UInt32
        var ssrc: UInt32
        var descriptor: VP8Descriptor
    }

    /// The video `sub` received since event `start`, each packet's layer told by its filler byte.
    private func layersReceived(_ h: EngineHarness, since start: Int) -> [Received] {
        var out: [Received] = []
        for case .rtp(let ssrc, let header, let packet) in (h.received["sub"] ?? []).dropFirst(start)
            where header.payloadType == ClientOffer.vp8PayloadType {
            let d = VP8Descriptor(packet, payload: header.payloadRange)!
            out.append(Received(layer: Int(packet[header.payloadRange.upperBound - 1]),
                                keyframe: packet[header.payloadRange.lowerBound + d.length] & 0x01 == 0,
                                sequence: header.sequenceNumber, timestamp: header.timestamp, ssrc: ssrc, descriptor: d))
        }
        return out
    }

    /// One SSRC; sequence numbers, picture ids and TL0PICIDX each one up per
    /// packet (every packet is a frame on temporal layer 0); timestamps
    /// forward by about the 10 ms between frames.
    private func assertContinuous(_ got: [Received], line: UInt = #line) {
        XCTAssertGreaterThan(got.count, 20, line: line)
        XCTAssertEqual(Set(got.map(\.ssrc)).count, 1, "one SSRC", line: line)
        for (a, b) in zip(got, got.dropFirst()) {
            XCTAssertEqual(b.sequence, a.sequence &+ 1, "sequence \(a.sequence) → \(b.sequence)", line: line)
            XCTAssertEqual(b.descriptor.pictureID, (a.descriptor.pictureID + 1) & 0x7FFF, "picture id", line: line)
            XCTAssertEqual(b.descriptor.tl0PicIdx, a.descriptor.tl0PicIdx &+ 1, "TL0PICIDX", line: line)
            let step = b.timestamp &- a.timestamp
            XCTAssertTrue((1...1_800).contains(step), "timestamp step \(step)", line: line)
        }
    }
}
