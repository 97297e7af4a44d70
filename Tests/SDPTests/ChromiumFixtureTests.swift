import Wire
import XCTest
@testable import SDP

/// Accessors against values read by eye from the headless Chromium offers.
final class ChromiumFixtureTests: XCTestCase {
    func testCohortClientSessionPart() throws {
        let sdp = try FixtureLoader.parse("chromium-cohort-client.sdp")
        XCTAssertEqual(sdp.origin?.sessionID, "6584123202468067769")
        XCTAssertEqual(sdp.origin?.sessionVersion, 2)
        XCTAssertEqual(sdp.bundleMIDs, (0..<10).map(String.init))
        XCTAssertTrue(sdp.hasAttribute("extmap-allow-mixed"))
        // Chromium writes "a=msid-semantic: WMS <id>" with a space after the colon.
        XCTAssertEqual(sdp.attributeValue("msid-semantic"), " WMS aa7ffa76-8a4f-4d6f-b77e-7bfca01a0575")
        XCTAssertEqual(sdp.msidSemantic, MSIDSemantic(semantic: "WMS",
                                                      identifiers: ["aa7ffa76-8a4f-4d6f-b77e-7bfca01a0575"]))
    }

    func testCohortClientSectionsAndTransport() throws {
        let sdp = try FixtureLoader.parse("chromium-cohort-client.sdp")
        XCTAssertEqual(sdp.mediaSections.map(\.mid), (0..<10).map(String.init))
        XCTAssertEqual(sdp.mediaSections.map(\.kind), [.audio, .video] + Array(repeating: .audio, count: 4)
                       + Array(repeating: .video, count: 4))
        XCTAssertEqual(sdp.mediaSections.map(\.explicitDirection),
                       [.sendrecv, .sendrecv] + Array(repeating: .recvonly, count: 8))
        let digest = Hex.decode("3B8CA30135D19BB5C83025F1514472B677DE4E32A0017E38F1A81053D7F148C9")
        for section in sdp.mediaSections {
            XCTAssertEqual(sdp.iceUfrag(for: section), "DfPz")
            XCTAssertEqual(sdp.icePwd(for: section), "bYPWYgss4y/+WTtZR5SWFK/x")
            XCTAssertEqual(sdp.iceOptions(for: section), ["trickle"])
            XCTAssertEqual(sdp.fingerprints(for: section), [Fingerprint(hashFunction: "sha-256", digest: digest!)])
            XCTAssertEqual(sdp.setup(for: section), .actpass)
            XCTAssertTrue(section.isRTCPMux)
            XCTAssertTrue(section.isRTCPReducedSize)
            XCTAssertFalse(section.isEndOfCandidates)
            XCTAssertEqual(section.candidates.count, 2)
        }
    }

    func testCohortClientCandidates() throws {
        let audio = try FixtureLoader.parse("chromium-cohort-client.sdp").mediaSections[0]
        let udp = audio.candidates[0], tcp = audio.candidates[1]
        XCTAssertEqual(udp.foundation, "3134079963")
        XCTAssertEqual(udp.component, 1)
        XCTAssertTrue(udp.isUDP)
        XCTAssertEqual(udp.priority, 2122260223)
        XCTAssertEqual(udp.address, "127.0.0.1")
        XCTAssertEqual(udp.port, 59702)
        XCTAssertEqual(udp.type, .host)
        XCTAssertNil(udp.tcpType)
        XCTAssertEqual(udp.generation, 0)
        XCTAssertEqual(udp.extensionValue("network-id"), "1")
        XCTAssertEqual(udp.extensionValue("network-cost"), "50")
        XCTAssertEqual(tcp.transport, "tcp")
        XCTAssertEqual(tcp.port, 9)
        XCTAssertEqual(tcp.priority, 1518280447)
        XCTAssertEqual(tcp.tcpType, "active")
        XCTAssertEqual(tcp.extensions.map(\.name), ["generation", "network-id", "network-cost"])
    }

    func testCohortClientAudio() throws {
        let audio = try FixtureLoader.parse("chromium-cohort-client.sdp").mediaSections[0]
        XCTAssertEqual(audio.media.payloadTypes, [111, 63, 9, 0, 8, 13, 110, 126])
        let opus = try XCTUnwrap(audio.codecs.first)
        XCTAssertEqual(opus.payloadType, 111)
        XCTAssertEqual(opus.name, "opus")
        XCTAssertEqual(opus.clockRate, 48000)
        XCTAssertEqual(opus.channels, 2)
        XCTAssertEqual(opus.parameters?.parameters, [.init(name: "minptime", value: "10"),
                                                     .init(name: "useinbandfec", value: "1")])
        XCTAssertEqual(opus.feedback, [RTCPFeedback(payloadType: 111, type: "transport-cc")])
        XCTAssertEqual(audio.codec(payloadType: 63)?.parameters?.text, "111/111")
        XCTAssertEqual(audio.codec(payloadType: 126)?.name, "telephone-event")
        XCTAssertEqual(audio.sendSSRCs, [3105693910])
        XCTAssertEqual(audio.sourceAttribute("cname", ssrc: 3105693910), "9P+ALXD3QB4hiTCI")
        XCTAssertEqual(audio.extensionID(for: "urn:ietf:params:rtp-hdrext:ssrc-audio-level"), 1)
        XCTAssertEqual(audio.extensionID(for: "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"), 2)
        XCTAssertEqual(audio.extensionID(
            for: "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"), 3)
        XCTAssertEqual(audio.extensionID(for: "urn:ietf:params:rtp-hdrext:sdes:mid"), 4)
        XCTAssertEqual(audio.attributeValue("rtcp-xr"), "rcvr-rtt=all")
    }

    func testCohortClientVideo() throws {
        let sdp = try FixtureLoader.parse("chromium-cohort-client.sdp")
        let video = sdp.mediaSections[1]
        let vp8 = try XCTUnwrap(video.codecs.first)
        XCTAssertEqual(vp8.payloadType, 96)
        XCTAssertEqual(vp8.name, "VP8")
        XCTAssertEqual(vp8.feedback.map(\.attributeValue),
                       ["96 goog-remb", "96 transport-cc", "96 ccm fir", "96 nack", "96 nack pli"])
        XCTAssertEqual(video.codec(payloadType: 97)?.associatedPayloadType, 96)
        XCTAssertEqual(video.codec(payloadType: 102)?.parameters?["profile-level-id"], "42001f")
        XCTAssertEqual(video.codec(payloadType: 45)?.name, "AV1")
        XCTAssertEqual(video.extensionID(for: "urn:ietf:params:rtp-hdrext:toffset"), 14)
        XCTAssertEqual(video.sendSSRCs, [1516496563, 3770672703])
        XCTAssertEqual(video.primarySSRCs, [1516496563])
        XCTAssertEqual(video.rtxSSRC(for: 1516496563), 3770672703)
        // The receive slots declare no sources: nothing to send, nothing to map.
        for section in sdp.mediaSections[2...] {
            XCTAssertEqual(section.ssrcs, [], section.mid ?? "")
            XCTAssertEqual(section.sendSSRCs, [], section.mid ?? "")
        }
        XCTAssertEqual(sdp.mediaSections[6].extensionID(for: "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"), 10)
        XCTAssertEqual(sdp.mediaSection(mid: "9")?.kind, .video)
        XCTAssertNil(sdp.mediaSection(mid: "10"))
    }

    func testSimulcastRIDs() throws {
        let sdp = try FixtureLoader.parse("chromium-simulcast.sdp")
        let video = sdp.mediaSections[1]
        XCTAssertEqual(video.explicitDirection, .sendonly)
        XCTAssertEqual(video.rids, [RID(id: "q", direction: .send), RID(id: "h", direction: .send),
                                    RID(id: "f", direction: .send)])
        let simulcast = try XCTUnwrap(video.simulcast)
        XCTAssertEqual(simulcast.sendRIDs, ["q", "h", "f"])
        XCTAssertEqual(simulcast.send, [[.init(rid: "q")], [.init(rid: "h")], [.init(rid: "f")]])
        XCTAssertEqual(simulcast.recv, [])
        XCTAssertEqual(video.extensionID(for: "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"), 10)
        XCTAssertEqual(video.extensionID(for: "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"), 11)
        // With rids, Chromium announces no SSRCs; the SFU learns them from the RID header extension.
        XCTAssertEqual(video.ssrcs, [])
        XCTAssertEqual(sdp.mediaSections[0].sendSSRCs, [1085180966])
        XCTAssertEqual(sdp.iceUfrag(for: video), "PXjY")
    }

    func testDataChannelSection() throws {
        let sdp = try FixtureLoader.parse("chromium-datachannel.sdp")
        XCTAssertEqual(sdp.bundleMIDs, ["0", "1", "2"])
        let data = sdp.mediaSections[2]
        XCTAssertEqual(data.kind, .application)
        XCTAssertEqual(data.media, MediaLine(kind: .application, port: 38796, proto: "UDP/DTLS/SCTP",
                                             formats: ["webrtc-datachannel"]))
        XCTAssertFalse(data.media.isRTP)
        XCTAssertEqual(data.media.payloadTypes, [])
        XCTAssertEqual(data.codecs, [])
        XCTAssertEqual(data.sctpPort, 5000)
        XCTAssertEqual(data.maxMessageSize, 262144)
        XCTAssertNil(data.sctpMap)
        XCTAssertEqual(data.mid, "2")
        XCTAssertEqual(sdp.iceUfrag(for: data), "oxg5")
        XCTAssertEqual(sdp.direction(of: data), .sendrecv)
        XCTAssertEqual(data.candidates.count, 2)
    }
}
