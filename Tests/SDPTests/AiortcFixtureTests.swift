import Wire
import XCTest
@testable import SDP

/// Accessors against values read by eye from the aiortc 1.16 offers.
final class AiortcFixtureTests: XCTestCase {
    func testAudioVideoSessionPart() throws {
        let sdp = try FixtureLoader.parse("aiortc-audio-video.sdp")
        XCTAssertEqual(sdp.origin, Origin(username: "-", sessionID: "4004958933", sessionVersion: 4004958933,
                                          address: "0.0.0.0"))
        XCTAssertEqual(sdp.sessionName, "-")
        XCTAssertEqual(sdp.timing, Timing(start: 0, stop: 0))
        XCTAssertEqual(sdp.bundleMIDs, ["0", "1"])
        XCTAssertEqual(sdp.msidSemantic, MSIDSemantic(semantic: "WMS", identifiers: ["*"]))
        XCTAssertFalse(sdp.isICELite)
        XCTAssertNil(sdp.iceUfrag)
        XCTAssertEqual(sdp.mediaSections.map(\.kind), [.audio, .video])
        XCTAssertEqual(sdp.mediaSections.map(\.mid), ["0", "1"])
    }

    func testAudioVideoTransportIsMediaLevel() throws {
        let sdp = try FixtureLoader.parse("aiortc-audio-video.sdp")
        for section in sdp.mediaSections {
            XCTAssertEqual(sdp.iceUfrag(for: section), "0dtN")
            XCTAssertEqual(sdp.icePwd(for: section), "nS29GH6R1AE8NCwNCEZwVc")
            XCTAssertEqual(sdp.setup(for: section), .actpass)
            let fingerprints = sdp.fingerprints(for: section)
            XCTAssertEqual(fingerprints.map(\.hashFunction), ["sha-256", "sha-384", "sha-512"])
            XCTAssertEqual(fingerprints.map(\.digest.count), [32, 48, 64])
            XCTAssertEqual(fingerprints[0].digest, Hex.decode(
                "63120A629E88B4CBC00B1EF8E84E8F6F4B2C5CE1366CB42A481C3F06395D2047"))
            XCTAssertTrue(section.isRTCPMux)
            XCTAssertFalse(section.isRTCPReducedSize)
            XCTAssertEqual(sdp.direction(of: section), .sendrecv)
            XCTAssertTrue(section.isEndOfCandidates)
            XCTAssertEqual(section.connection, ConnectionData(address: "127.0.0.1"))
        }
    }

    func testAudioVideoCandidates() throws {
        let sdp = try FixtureLoader.parse("aiortc-audio-video.sdp")
        let audio = sdp.mediaSections[0]
        XCTAssertEqual(audio.candidates, [ICECandidate(
            foundation: "16572de626da4e5384a0ce2d0d93678a", component: 1, transport: "udp",
            priority: 2130706431, address: "127.0.0.1", port: 44914, type: .host)])
        XCTAssertEqual(audio.media.port, 44914)
        XCTAssertEqual(sdp.mediaSections[1].candidates.map(\.port), [55986])
    }

    func testAudioVideoCodecs() throws {
        let sdp = try FixtureLoader.parse("aiortc-audio-video.sdp")
        let audio = sdp.mediaSections[0]
        XCTAssertEqual(audio.media.proto, "UDP/TLS/RTP/SAVPF")
        XCTAssertEqual(audio.codecs, [
            Codec(payloadType: 96, name: "opus", clockRate: 48000, channels: 2),
            Codec(payloadType: 9, name: "G722", clockRate: 8000),
            Codec(payloadType: 0, name: "PCMU", clockRate: 8000),
            Codec(payloadType: 8, name: "PCMA", clockRate: 8000),
        ])
        let video = sdp.mediaSections[1]
        XCTAssertEqual(video.codecs.map(\.name), ["VP8", "rtx", "H264", "rtx", "H264", "rtx"])
        let vp8 = try XCTUnwrap(video.codec(named: "vp8"))
        XCTAssertEqual(vp8.payloadType, 97)
        XCTAssertEqual(vp8.clockRate, 90000)
        XCTAssertEqual(vp8.feedback.map(\.attributeValue), ["97 nack", "97 nack pli", "97 goog-remb"])
        XCTAssertTrue(vp8.supportsFeedback("nack", parameter: "pli"))
        XCTAssertFalse(vp8.supportsFeedback("ccm", parameter: "fir"))
        XCTAssertEqual(video.codec(payloadType: 98)?.associatedPayloadType, 97)
        let h264 = try XCTUnwrap(video.codec(payloadType: 99))
        XCTAssertEqual(h264.parameters?["profile-level-id"], "42001f")
        XCTAssertEqual(h264.parameters?["packetization-mode"], "1")
        XCTAssertEqual(video.codec(payloadType: 101)?.parameters?["profile-level-id"], "42e01f")
    }

    func testAudioVideoSourcesAndExtensions() throws {
        let sdp = try FixtureLoader.parse("aiortc-audio-video.sdp")
        let audio = sdp.mediaSections[0], video = sdp.mediaSections[1]
        XCTAssertEqual(audio.sendSSRCs, [3258576975])
        XCTAssertEqual(audio.sourceAttribute("cname", ssrc: 3258576975), "2accfaa0-ea61-4e9e-b375-bb6579299112")
        XCTAssertEqual(video.sendSSRCs, [3842557553, 2496103060])
        XCTAssertEqual(video.primarySSRCs, [3842557553])
        XCTAssertEqual(video.rtxSSRC(for: 3842557553), 2496103060)
        XCTAssertNil(video.rtxSSRC(for: 2496103060))
        XCTAssertEqual(video.ssrcGroups, [SSRCGroup(semantics: "FID", ssrcs: [3842557553, 2496103060])])
        XCTAssertEqual(audio.extensionID(for: "urn:ietf:params:rtp-hdrext:sdes:mid"), 1)
        XCTAssertEqual(audio.extensionID(for: "urn:ietf:params:rtp-hdrext:ssrc-audio-level"), 2)
        XCTAssertEqual(video.extensionID(for: "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"), 3)
        XCTAssertNil(video.extensionID(for: "urn:ietf:params:rtp-hdrext:ssrc-audio-level"))
        XCTAssertEqual(audio.msids, [MSID(streamID: "1ad479ca-15c9-475e-9e7e-edd067479e01",
                                          trackID: "27766528-f655-46ec-bce4-143bfa00adde")])
        // a=rtcp is not modelled; it must survive as written.
        XCTAssertEqual(audio.attributeValue("rtcp"), "9 IN IP4 0.0.0.0")
    }

    func testCohortClientShape() throws {
        let sdp = try FixtureLoader.parse("aiortc-cohort-client.sdp")
        XCTAssertEqual(sdp.mediaSections.count, 10)
        XCTAssertEqual(sdp.bundleMIDs, (0..<10).map(String.init))
        XCTAssertEqual(sdp.mediaSections.map(\.kind), [.audio, .video] + Array(repeating: .audio, count: 4)
                       + Array(repeating: .video, count: 4))
        XCTAssertEqual(sdp.mediaSections.map { sdp.direction(of: $0) },
                       [.sendonly, .sendonly] + Array(repeating: .recvonly, count: 8))
        for section in sdp.mediaSections {
            XCTAssertEqual(sdp.iceUfrag(for: section), "U0pf")
            XCTAssertEqual(sdp.icePwd(for: section), "jmBdZy8XykNHq0QibASy4H")
            XCTAssertEqual(section.candidates.count, 1)
            // aiortc bundles per kind on one port and names it in the candidate.
            XCTAssertEqual(section.candidates.first?.port, section.media.port)
            XCTAssertEqual(section.candidates.first?.address, "127.0.0.1")
        }
        XCTAssertEqual(Set(sdp.mediaSections.map(\.media.port)), [46098, 53202])
    }

    func testCohortClientSendSSRCsOnlyInSendingSections() throws {
        let sdp = try FixtureLoader.parse("aiortc-cohort-client.sdp")
        XCTAssertEqual(sdp.mediaSections[0].sendSSRCs, [307250266])
        XCTAssertEqual(sdp.mediaSections[1].sendSSRCs, [3284484349, 2800472482])
        XCTAssertEqual(sdp.mediaSections[1].rtxSSRC(for: 3284484349), 2800472482)
        // aiortc names an SSRC in recvonly sections too (for its RTCP); it is not a send SSRC.
        XCTAssertEqual(sdp.mediaSections[2].ssrcs, [3634404675])
        XCTAssertEqual(sdp.mediaSections[2].sendSSRCs, [])
        XCTAssertEqual(sdp.mediaSections[6].ssrcs, [1558564143, 3655134859])
        XCTAssertEqual(sdp.mediaSections[6].sendSSRCs, [])
    }
}
