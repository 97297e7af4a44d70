import Wire
import XCTest
@testable import SDP

/// Building the kind of ICE-lite answer Cohort sends, from values alone.
final class AnswerGenerationTests: XCTestCase {
    private let digest: [UInt8] = Array(0..<32)
    private let expectedAnswer = [
        "v=0",
        "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=ice-lite",
        "a=group:BUNDLE 0 1",
        "a=msid-semantic:WMS *",
        "a=ice-ufrag:Cohort1",
        "a=ice-pwd:abcdefghijklmnopqrstuvwx",
        "a=fingerprint:sha-256 00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F",
        "a=setup:passive",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "c=IN IP4 0.0.0.0",
        "a=mid:0",
        "a=recvonly",
        "a=rtcp-mux",
        "a=rtcp-rsize",
        "a=rtpmap:111 opus/48000/2",
        "a=fmtp:111 minptime=10;useinbandfec=1",
        "a=rtcp-fb:111 transport-cc",
        "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
        "a=extmap:4/recvonly urn:ietf:params:rtp-hdrext:sdes:mid",
        "a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host generation 0",
        "a=end-of-candidates",
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
        "c=IN IP4 0.0.0.0",
        "a=mid:1",
        "a=sendonly",
        "a=msid:cohort slot-1",
        "a=rtcp-mux",
        "a=rtpmap:96 VP8/90000",
        "a=rtcp-fb:96 nack",
        "a=rtcp-fb:96 nack pli",
        "a=rtcp-fb:96 ccm fir",
        "a=rtpmap:97 rtx/90000",
        "a=fmtp:97 apt=96",
        "a=ssrc-group:FID 1001 1002",
        "a=ssrc:1001 cname:cohort",
        "a=ssrc:1002 cname:cohort",
        "a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host generation 0",
        "a=end-of-candidates",
    ].map { $0 + "\r\n" }.joined()

    private func buildAnswer() -> SessionDescription {
        var answer = SessionDescription(origin: Origin(sessionID: "4611731400430051336", sessionVersion: 2))
        answer.append(.iceLite)
        answer.append(SDPGroup(semantics: SDPGroup.bundle, mids: ["0", "1"]))
        answer.append(MSIDSemantic())
        answer.append(.iceUfrag("Cohort1"))
        answer.append(.icePwd("abcdefghijklmnopqrstuvwx"))
        answer.append(Fingerprint(hashFunction: "sha-256", digest: digest))
        answer.append(SetupRole.passive)
        let host = ICECandidate(foundation: "1", priority: 2130706431, address: "127.0.0.1", port: 40000, type: .host,
                                extensions: [.init(name: "generation", value: "0")])

        var audio = MediaDescription(media: MediaLine(kind: .audio, port: 9, proto: "UDP/TLS/RTP/SAVPF",
                                                      formats: ["111"]))
        audio.connection = ConnectionData()
        audio.append(.mid("0"))
        audio.append(MediaDirection.sendonly.reversed.attribute)
        audio.append(.rtcpMux)
        audio.append(.rtcpReducedSize)
        audio.append(RTPMap(payloadType: 111, encodingName: "opus", clockRate: 48000, channels: 2))
        audio.append(FormatParameters(payloadType: 111, parameters: [.init(name: "minptime", value: "10"),
                                                                     .init(name: "useinbandfec", value: "1")]))
        audio.append(RTCPFeedback(payloadType: 111, type: "transport-cc"))
        audio.append(ExtMap(id: 1, uri: "urn:ietf:params:rtp-hdrext:ssrc-audio-level"))
        audio.append(ExtMap(id: 4, direction: .recvonly, uri: "urn:ietf:params:rtp-hdrext:sdes:mid"))
        audio.append(host)
        audio.append(.endOfCandidates)

        var video = MediaDescription(media: MediaLine(kind: .video, port: 9, proto: "UDP/TLS/RTP/SAVPF",
                                                      formats: ["96", "97"]))
        video.connection = ConnectionData()
        video.append(.mid("1"))
        video.append(MediaDirection.sendonly.attribute)
        video.append(MSID(streamID: "cohort", trackID: "slot-1"))
        video.append(.rtcpMux)
        video.append(RTPMap(payloadType: 96, encodingName: "VP8", clockRate: 90000))
        video.append(RTCPFeedback(payloadType: 96, type: "nack"))
        video.append(RTCPFeedback(payloadType: 96, type: "nack", parameter: "pli"))
        video.append(RTCPFeedback(payloadType: 96, type: "ccm", parameter: "fir"))
        video.append(RTPMap(payloadType: 97, encodingName: "rtx", clockRate: 90000))
        video.append(FormatParameters(format: "97", text: "apt=96"))
        video.append(SSRCGroup(semantics: SSRCGroup.flowIdentification, ssrcs: [1001, 1002]))
        video.append(SSRCAttribute(ssrc: 1001, name: "cname", value: "cohort"))
        video.append(SSRCAttribute(ssrc: 1002, name: "cname", value: "cohort"))
        video.append(host)
        video.append(.endOfCandidates)

        answer.mediaSections = [audio, video]
        return answer
    }

    func testICELiteAnswerGeneratesExpectedText() {
        XCTAssertEqual(buildAnswer().generate(), expectedAnswer)
    }

    func testICELiteAnswerParsesBackToTheSameValues() throws {
        let answer = buildAnswer()
        let parsed = try SessionDescription.parse(answer.generate())
        XCTAssertEqual(parsed, answer)
        XCTAssertTrue(parsed.isICELite)
        XCTAssertEqual(parsed.bundleMIDs, ["0", "1"])
        let video = parsed.mediaSections[1]
        XCTAssertEqual(parsed.iceUfrag(for: video), "Cohort1")
        XCTAssertEqual(parsed.fingerprints(for: video).first?.digest, digest)
        XCTAssertEqual(parsed.setup(for: video), .passive)
        XCTAssertEqual(video.sendSSRCs, [1001, 1002])
        XCTAssertEqual(video.rtxSSRC(for: 1001), 1002)
        XCTAssertEqual(video.codec(payloadType: 97)?.associatedPayloadType, 96)
        XCTAssertEqual(parsed.mediaSections[0].extMaps.last, ExtMap(id: 4, direction: .recvonly,
                                                                    uri: "urn:ietf:params:rtp-hdrext:sdes:mid"))
        XCTAssertEqual(parsed.direction(of: parsed.mediaSections[0]), .recvonly)
        XCTAssertEqual(parsed.mediaSections[0].sendSSRCs, [])
    }

    func testOriginSetterReplacesInPlaceForANewVersion() throws {
        var answer = buildAnswer()
        var origin = try XCTUnwrap(answer.origin)
        origin.sessionVersion += 1
        answer.origin = origin
        XCTAssertEqual(answer.lines.first, .field(type: "o", value: "- 4611731400430051336 3 IN IP4 127.0.0.1"))
        XCTAssertEqual(answer.lines.count, buildAnswer().lines.count)
        answer.mediaSections[0].connection = nil
        XCTAssertNil(answer.mediaSections[0].connection)
        XCTAssertTrue(answer.generate().hasPrefix("v=0\r\no=- 4611731400430051336 3 IN IP4 127.0.0.1\r\ns=-\r\n"))
        XCTAssertFalse(answer.generate().contains("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc="))
    }
}
