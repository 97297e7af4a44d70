import XCTest
@testable import SDP

/// Typed attribute parsing against the examples of the RFCs that define them,
/// and canonical rendering of each type.
final class AttributeTests: XCTestCase {
    private func roundTrips<Value: SDPAttributeValue>(_ value: Value, file: StaticString = #filePath,
                                                       line: UInt = #line) {
        XCTAssertEqual(try Value(attributeValue: value.attributeValue[...]), value, file: file, line: line)
    }

    func testRFC8839CandidateExamples() throws {
        // RFC 8839 §5.1 / RFC 8445 examples (host and server reflexive with related address).
        let host = try ICECandidate(attributeValue: "1 1 UDP 2130706431 10.0.1.1 8998 typ host")
        XCTAssertEqual(host, ICECandidate(foundation: "1", component: 1, transport: "UDP", priority: 2130706431,
                                          address: "10.0.1.1", port: 8998, type: .host))
        XCTAssertTrue(host.isUDP)
        let srflx = try ICECandidate(attributeValue: "2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 10.0.1.1 rport 8998")
        XCTAssertEqual(srflx.type, .serverReflexive)
        XCTAssertEqual(srflx.relatedAddress, "10.0.1.1")
        XCTAssertEqual(srflx.relatedPort, 8998)
        XCTAssertEqual(srflx.attributeValue, "2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 10.0.1.1 rport 8998")
        roundTrips(host)
        roundTrips(srflx)
    }

    func testTrickleCandidateAndMDNSAddress() throws {
        let candidate = try ICECandidate(parsing:
            "candidate:842163049 1 udp 1677729535 3f6a1a1e-1b0a-4bd8-9d43-6f1b5d4e8d2c.local 56143 typ host generation 0 ufrag sK2b network-cost 999")
        XCTAssertEqual(candidate.address, "3f6a1a1e-1b0a-4bd8-9d43-6f1b5d4e8d2c.local")
        XCTAssertEqual(candidate.ufrag, "sK2b")
        XCTAssertEqual(candidate.generation, 0)
        XCTAssertEqual(try ICECandidate(parsing: "a=candidate:" + candidate.attributeValue), candidate)
        XCTAssertThrowsError(try ICECandidate(parsing: "candidate:"))
    }

    func testRFC8853SimulcastExample() throws {
        // RFC 8853 §5.1: "a=simulcast:send 1,~4;2;3 recv c".
        let simulcast = try Simulcast(attributeValue: "send 1,~4;2;3 recv c")
        XCTAssertEqual(simulcast.send, [[.init(rid: "1"), .init(rid: "4", paused: true)], [.init(rid: "2")],
                                        [.init(rid: "3")]])
        XCTAssertEqual(simulcast.recv, [[.init(rid: "c")]])
        XCTAssertEqual(simulcast.sendRIDs, ["1", "2", "3"])
        XCTAssertEqual(simulcast.recvRIDs, ["c"])
        XCTAssertEqual(try Simulcast(attributeValue: "recv c send 1,~4;2;3"), simulcast)
        XCTAssertEqual(simulcast.attributeValue, "send 1,~4;2;3 recv c")
    }

    func testRFC8851RIDExample() throws {
        // RFC 8851 §11.1-style restriction list.
        let rid = try RID(attributeValue: "5 send pt=99,102;max-br=64000;max-width=1280;max-height=720;max-fps=30")
        XCTAssertEqual(rid.id, "5")
        XCTAssertEqual(rid.direction, .send)
        XCTAssertEqual(rid.payloadTypes, [99, 102])
        XCTAssertEqual(rid.restriction("max-width"), "1280")
        XCTAssertEqual(rid.restriction("max-fps"), "30")
        XCTAssertEqual(rid.restrictions.count, 4)
        XCTAssertEqual(rid.attributeValue, "5 send pt=99,102;max-br=64000;max-width=1280;max-height=720;max-fps=30")
        XCTAssertEqual(try RID(attributeValue: "r1 recv depend=r0").restrictions, [.init(name: "depend", value: "r0")])
        roundTrips(rid)
    }

    func testRFC8285ExtMapExample() throws {
        // RFC 8285 §8: "a=extmap:2/sendrecv http://example.com/082005/ext.htm#xmeta short".
        let ext = try ExtMap(attributeValue: "2/sendrecv http://example.com/082005/ext.htm#xmeta short")
        XCTAssertEqual(ext, ExtMap(id: 2, direction: .sendrecv, uri: "http://example.com/082005/ext.htm#xmeta",
                                   extensionAttributes: "short"))
        roundTrips(ext)
    }

    func testWildcardFeedbackAppliesToEveryCodec() throws {
        let sdp = try SessionDescription.parse("""
            v=0
            o=- 1 1 IN IP4 0.0.0.0
            s=-
            t=0 0
            m=video 9 UDP/TLS/RTP/SAVPF 96 97 98
            a=rtpmap:96 VP8/90000
            a=rtcp-fb:* nack
            a=rtpmap:97 rtx/90000
            a=fmtp:97 apt=96
            a=rtcp-fb:96 trr-int 100
            """)
        let video = sdp.mediaSections[0]
        // 98 has neither rtpmap nor a static assignment, so it is not a codec.
        XCTAssertEqual(video.codecs.map(\.payloadType), [96, 97])
        XCTAssertEqual(video.codec(payloadType: 96)?.feedback, [RTCPFeedback(payloadType: nil, type: "nack"),
                                                                 RTCPFeedback(payloadType: 96, type: "trr-int",
                                                                              parameter: "100")])
        XCTAssertEqual(video.codec(payloadType: 97)?.feedback.map(\.attributeValue), ["* nack"])
    }

    func testStaticPayloadTypesWithoutRTPMap() throws {
        let sdp = try SessionDescription.parse("v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nt=0 0\nm=audio 9 RTP/AVP 0 8\n")
        XCTAssertEqual(sdp.mediaSections[0].codecs, [Codec(payloadType: 0, name: "PCMU", clockRate: 8000),
                                                     Codec(payloadType: 8, name: "PCMA", clockRate: 8000)])
    }

    func testLegacySCTPMapAndSessionLevelDefaults() throws {
        let sdp = try SessionDescription.parse("""
            v=0
            o=- 1 1 IN IP4 0.0.0.0
            s=-
            t=0 0
            a=ice-ufrag:sess
            a=ice-pwd:sessionpasswordsession1
            a=fingerprint:sha-256 AA:BB
            a=setup:active
            a=ice-options:trickle ice2
            a=inactive
            m=application 9 DTLS/SCTP 5000
            a=sctpmap:5000 webrtc-datachannel 1024
            m=audio 9 RTP/AVP 0
            a=ice-ufrag:mine
            a=ice-options:renomination
            a=sendonly
            """)
        let data = sdp.mediaSections[0], audio = sdp.mediaSections[1]
        XCTAssertEqual(data.sctpMap, SCTPMap(port: 5000, application: "webrtc-datachannel", streams: 1024))
        XCTAssertEqual(data.sctpPort, 5000)
        XCTAssertEqual(data.media.formats, ["5000"])
        XCTAssertEqual(sdp.iceUfrag(for: data), "sess")
        XCTAssertEqual(sdp.iceUfrag(for: audio), "mine")
        XCTAssertEqual(sdp.icePwd(for: audio), "sessionpasswordsession1")
        XCTAssertEqual(sdp.fingerprints(for: audio), [Fingerprint(hashFunction: "sha-256", digest: [0xAA, 0xBB])])
        XCTAssertEqual(sdp.setup(for: audio), .active)
        XCTAssertEqual(sdp.iceOptions(for: data), ["trickle", "ice2"])
        XCTAssertEqual(sdp.iceOptions(for: audio), ["renomination"])
        XCTAssertEqual(sdp.direction(of: data), .inactive)
        XCTAssertEqual(sdp.direction(of: audio), .sendonly)
        XCTAssertTrue(sdp.mediaSections.allSatisfy { !$0.isRejected })
        roundTrips(try XCTUnwrap(data.sctpMap))
    }

    func testRejectedAndBundleOnlySections() throws {
        let sdp = try SessionDescription.parse("""
            v=0
            o=- 1 1 IN IP4 0.0.0.0
            s=-
            t=0 0
            m=audio 0 RTP/AVP 0
            m=video 0 RTP/AVP 96
            a=bundle-only
            """)
        XCTAssertEqual(sdp.mediaSections.map(\.isRejected), [true, false])
    }

    func testCanonicalRenderingOfEveryType() throws {
        roundTrips(RTPMap(payloadType: 111, encodingName: "opus", clockRate: 48000, channels: 2))
        roundTrips(FormatParameters(format: "111", text: "minptime=10;useinbandfec=1"))
        roundTrips(RTCPFeedback(payloadType: nil, type: "ccm", parameter: "fir"))
        roundTrips(SSRCAttribute(ssrc: 1, name: "msid", value: "stream track"))
        roundTrips(SSRCGroup(semantics: "SIM", ssrcs: [1, 2, 3]))
        roundTrips(SDPGroup(semantics: "BUNDLE", mids: []))
        roundTrips(MSID(streamID: "-", trackID: "t"))
        roundTrips(MSIDSemantic(semantic: "WMS", identifiers: []))
        roundTrips(Fingerprint(hashFunction: "sha-1", digest: Array(repeating: 0xAB, count: 20)))
        roundTrips(SetupRole.holdconn)
        XCTAssertEqual(try FormatParameters(attributeValue: "111  a=1; b ;c=").parameters,
                       [.init(name: "a", value: "1"), .init(name: "b"), .init(name: "c", value: "")])
        XCTAssertEqual(try Fingerprint(attributeValue: "SHA-256 ab:cd").attributeValue, "SHA-256 AB:CD")
        XCTAssertEqual(try RTCPFeedback(attributeValue: "96  nack   pli").attributeValue, "96 nack pli")
    }

    func testLookupsByAttributeName() throws {
        var section = MediaDescription(media: MediaLine(kind: .audio, port: 9, proto: "RTP/AVP", formats: ["0"]))
        section.appendAttribute("x-custom", "v1")
        section.appendProperty("x-flag")
        section.appendAttribute("x-custom", "v2")
        XCTAssertEqual(section.attributes(named: "x-custom").map(\.value), ["v1", "v2"])
        XCTAssertEqual(section.attributeValue("x-custom"), "v1")
        XCTAssertTrue(section.hasAttribute("x-flag"))
        XCTAssertNil(section.attribute(named: "x-flag")?.value)
        XCTAssertEqual(section.lines.map(\.text), ["a=x-custom:v1", "a=x-flag", "a=x-custom:v2"])
        XCTAssertNil(SDPAttribute(name: "rtpmap", value: "bad").parsed(as: RTPMap.self))
        XCTAssertNil(SDPAttribute(name: "fmtp", value: "111 x=1").parsed(as: RTPMap.self))
    }
}
