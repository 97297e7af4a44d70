import XCTest
@testable import SDP

/// Every class of malformed input yields its typed error with the right line, and nothing traps.
final class MalformedInputTests: XCTestCase {
    private let head = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
    private let audio = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"

    /// A valid description with `line` appended to one audio section (line 6).
    private func withMediaLine(_ line: String) -> String { head + audio + line + "\r\n" }

    func testBaseDescriptionIsValid() throws {
        XCTAssertEqual(try SessionDescription.parse(head + audio).mediaSections.count, 1)
        XCTAssertEqual(try SessionDescription.parse(withMediaLine("a=x-unknown:anything at all")).generate(),
                       withMediaLine("a=x-unknown:anything at all"))
    }

    func testLinesOfOtherTypesAndUnknownAttributesArePreservedInPlace() throws {
        let text = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\ni=therapy group\r\nu=https://example.org\r\n"
            + "e=a@example.org\r\nt=0 0\r\nr=604800 3600 0\r\na=x-session: keep  my   spaces \r\n"
            + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nb=AS:64\r\na=x-flag\r\nk=prompt\r\na=ssrc:5 cname:c\r\n"
            + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nb=TIAS:1000000\r\na=sendonly\r\na=ssrc:6 cname:c\r\n"
        let sdp = try SessionDescription.parse(text)
        XCTAssertEqual(sdp.generate(), text)
        XCTAssertEqual(sdp.fieldValue("i"), "therapy group")
        XCTAssertEqual(sdp.attributeValue("x-session"), " keep  my   spaces ")
        XCTAssertEqual(sdp.mediaSections[0].lines.map(\.text), ["b=AS:64", "a=x-flag", "k=prompt", "a=ssrc:5 cname:c"])
        XCTAssertEqual(sdp.sendSSRCs(of: sdp.mediaSections[1]), [6])
        let inactive = try SessionDescription.parse(text.replacingOccurrences(of: "a=x-flag", with: "a=inactive"))
        XCTAssertEqual(inactive.sendSSRCs(of: inactive.mediaSections[0]), [])
    }

    func testSizeLimits() {
        let bytes = SDPLimits(maxBytes: 64)
        XCTAssertThrowsSDPError(.inputTooLarge(limit: 64), line: 0) {
            try SessionDescription.parse(self.head + self.audio, limits: bytes)
        }
        XCTAssertThrowsSDPError(.inputTooLarge(limit: 64), line: 0) {
            try SessionDescription.parse(bytes: Array(repeating: 0x61, count: 65), limits: bytes)
        }
        XCTAssertNoThrow(try SessionDescription.parse(head, limits: bytes))
        XCTAssertThrowsSDPError(.tooManyLines(limit: 5), line: 0) {
            try SessionDescription.parse(self.head + "a=x\r\na=y\r\n", limits: SDPLimits(maxLines: 5))
        }
        XCTAssertThrowsSDPError(.lineTooLong(limit: 24), line: 5) {
            try SessionDescription.parse(self.head + "a=" + String(repeating: "x", count: 23) + "\r\n",
                                         limits: SDPLimits(maxLineLength: 24))
        }
        XCTAssertThrowsSDPError(.tooManyMediaSections(limit: 1), line: 6) {
            try SessionDescription.parse(self.head + "m=audio 9 RTP/AVP 0\r\nm=audio 9 RTP/AVP 0\r\n",
                                         limits: SDPLimits(maxMediaSections: 1))
        }
    }

    func testDefaultLimits() {
        let sections = String(repeating: "m=audio 9 RTP/AVP 0\r\n", count: 65)
        XCTAssertThrowsSDPError(.tooManyMediaSections(limit: 64), line: 69) {
            try SessionDescription.parse(self.head + sections)
        }
        XCTAssertNoThrow(try SessionDescription.parse(head + String(repeating: "m=audio 9 RTP/AVP 0\r\n", count: 64)))
        let huge = head + String(repeating: "a=x-padding:" + String(repeating: "x", count: 1000) + "\r\n", count: 300)
        XCTAssertThrowsSDPError(.inputTooLarge(limit: 256 * 1024), line: 0) { try SessionDescription.parse(huge) }
        XCTAssertThrowsSDPError(.tooManyLines(limit: 8192), line: 0) {
            try SessionDescription.parse(self.head + String(repeating: "a=x\n", count: 8200))
        }
        XCTAssertThrowsSDPError(.lineTooLong(limit: 4096), line: 5) {
            try SessionDescription.parse(self.head + "a=" + String(repeating: "x", count: 4095) + "\r\n")
        }
    }

    func testEncodingAndCharacters() {
        XCTAssertThrowsSDPError(.invalidUTF8, line: 0) {
            try SessionDescription.parse(bytes: Array(self.head.utf8) + [0x61, 0x3D, 0xFF, 0xFE, 0x0D, 0x0A])
        }
        assertSDPError(.invalidCharacter, line: 5, head + "a=x\0y\r\n")
        assertSDPError(.invalidCharacter, line: 5, head + "a=x\ry\r\n")
    }

    func testLineStructure() {
        assertSDPError(.missingLine("v"), line: 0, "")
        assertSDPError(.missingLine("v"), line: 0, "\r\n\r\n")
        assertSDPError(.missingLine("v"), line: 1, "o=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n")
        assertSDPError(.missingLine("v"), line: 1, "hello world\r\n")
        assertSDPError(.unsupportedVersion, line: 1, "v=1\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n")
        assertSDPError(.unexpectedLine("v"), line: 5, head + "v=0\r\n")
        assertSDPError(.missingLine("o"), line: 0, "v=0\r\ns=-\r\nt=0 0\r\n")
        assertSDPError(.missingLine("s"), line: 0, "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\nt=0 0\r\n")
        assertSDPError(.missingLine("t"), line: 0, "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n" + audio)
        assertSDPError(.malformedLine, line: 5, head + "x\r\n")
        assertSDPError(.malformedLine, line: 5, head + "A=upper\r\n")
        assertSDPError(.malformedLine, line: 5, head + "a=\r\n")
        assertSDPError(.malformedLine, line: 5, head + "a=:value\r\n")
        assertSDPError(.malformedLine, line: 5, head + "\r\n" + audio)
        assertSDPError(.malformedLine, line: 5, head + "=x\r\n")
    }

    func testLineEndingsAreFlexible() throws {
        let lf = head.replacingOccurrences(of: "\r\n", with: "\n") + "m=audio 9 RTP/AVP 0"
        XCTAssertEqual(try SessionDescription.parse(lf).generate(), head + "m=audio 9 RTP/AVP 0\r\n")
        let mixed = "v=0\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\nt=0 0\r\n\r\n\n"
        XCTAssertEqual(try SessionDescription.parse(mixed).generate(), head)
    }

    func testSessionFields() {
        assertSDPError(.badOrigin, line: 2, "v=0\r\no=- 1 1 IN IP4\r\ns=-\r\nt=0 0\r\n")
        assertSDPError(.nonNumeric(field: "o= sess-id"), line: 2, "v=0\r\no=- x1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n")
        assertSDPError(.nonNumeric(field: "o= sess-version"), line: 2, "v=0\r\no=- 1 -1 IN IP4 ::\r\ns=-\r\nt=0 0\r\n")
        assertSDPError(.valueOutOfRange(field: "o= sess-version"), line: 2,
                       "v=0\r\no=- 1 18446744073709551616 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n")
        assertSDPError(.badTiming, line: 4, "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0\r\n")
        assertSDPError(.nonNumeric(field: "t= stop-time"), line: 4, "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 x\r\n")
        assertSDPError(.badConnection, line: 5, head + "c=IN IP4\r\n")
        assertSDPError(.badConnection, line: 6, withMediaLine("c=IN IP4 1.2.3.4 extra"))
    }

    func testMediaLine() {
        for bad in ["m=audio 9 UDP/TLS/RTP/SAVPF", "m=audio  9 UDP/TLS/RTP/SAVPF 111", "m=audio 09 RTP/AVP 0",
                    "m=audio 9/2/3 RTP/AVP 0", "m=audio 9 RTP/AVP 0 ", "m=audio 9/02 RTP/AVP 0", "m="] {
            assertSDPError(.badMediaLine, line: 5, head + bad + "\r\n")
        }
        assertSDPError(.nonNumeric(field: "m= port"), line: 5, head + "m=audio x RTP/AVP 0\r\n")
        assertSDPError(.valueOutOfRange(field: "m= port"), line: 5, head + "m=audio 70000 RTP/AVP 0\r\n")
        assertSDPError(.nonNumeric(field: "m= fmt"), line: 5, head + "m=audio 9 RTP/AVP opus\r\n")
        assertSDPError(.valueOutOfRange(field: "m= fmt"), line: 5, head + "m=audio 9 RTP/AVP 128\r\n")
        // Non-RTP formats are free tokens.
        XCTAssertNoThrow(try SessionDescription.parse(head + "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"))
        XCTAssertNoThrow(try SessionDescription.parse(head + "m=audio 0/2 RTP/AVP 0\r\n"))
    }

    func testRTPAttributes() {
        for bad in ["a=rtpmap:111", "a=rtpmap", "a=rtpmap:111 opus", "a=rtpmap:111 opus/48000/2/1",
                    "a=rtpmap:111 /48000", "a=rtpmap:111 op us/48000"] {
            assertSDPError(.badRTPMap, line: 6, withMediaLine(bad))
        }
        assertSDPError(.nonNumeric(field: "rtpmap clock rate"), line: 6, withMediaLine("a=rtpmap:111 opus/fast"))
        assertSDPError(.nonNumeric(field: "rtpmap payload type"), line: 6, withMediaLine("a=rtpmap:x opus/48000"))
        assertSDPError(.valueOutOfRange(field: "rtpmap payload type"), line: 6, withMediaLine("a=rtpmap:200 opus/48000"))
        assertSDPError(.valueOutOfRange(field: "rtpmap clock rate"), line: 6, withMediaLine("a=rtpmap:111 opus/0"))
        assertSDPError(.valueOutOfRange(field: "rtpmap channels"), line: 6, withMediaLine("a=rtpmap:111 opus/48000/0"))
        assertSDPError(.valueOutOfRange(field: "rtpmap clock rate"), line: 6,
                       withMediaLine("a=rtpmap:111 opus/" + String(repeating: "9", count: 40)))
        assertSDPError(.badFormatParameters, line: 6, withMediaLine("a=fmtp:111"))
        assertSDPError(.badFormatParameters, line: 6, withMediaLine("a=fmtp:111   "))
        assertSDPError(.badRTCPFeedback, line: 6, withMediaLine("a=rtcp-fb:96"))
        assertSDPError(.nonNumeric(field: "rtcp-fb payload type"), line: 6, withMediaLine("a=rtcp-fb:x nack"))
        assertSDPError(.badExtMap, line: 6, withMediaLine("a=extmap:1"))
        assertSDPError(.badExtMap, line: 6, withMediaLine("a=extmap:1/sideways urn:x"))
        assertSDPError(.valueOutOfRange(field: "extmap id"), line: 6, withMediaLine("a=extmap:0 urn:x"))
        assertSDPError(.valueOutOfRange(field: "extmap id"), line: 6, withMediaLine("a=extmap:256 urn:x"))
        XCTAssertNoThrow(try SessionDescription.parse(withMediaLine("a=extmap:4096 urn:x")))
        assertSDPError(.badSSRC, line: 6, withMediaLine("a=ssrc:123"))
        assertSDPError(.badSSRC, line: 6, withMediaLine("a=ssrc:123 :x"))
        assertSDPError(.nonNumeric(field: "ssrc"), line: 6, withMediaLine("a=ssrc:abc cname:x"))
        assertSDPError(.valueOutOfRange(field: "ssrc"), line: 6, withMediaLine("a=ssrc:4294967296 cname:x"))
        assertSDPError(.badSSRCGroup, line: 6, withMediaLine("a=ssrc-group:FID"))
        assertSDPError(.nonNumeric(field: "ssrc-group ssrc"), line: 6, withMediaLine("a=ssrc-group:FID 1 two"))
    }

    func testGroupingAttributes() {
        assertSDPError(.badGroup, line: 5, head + "a=group:\r\n")
        assertSDPError(.badMID, line: 6, withMediaLine("a=mid:"))
        assertSDPError(.badMID, line: 6, withMediaLine("a=mid:a b"))
        assertSDPError(.duplicateMID("0"), line: 8, head + audio + "a=mid:0\r\n" + audio + "a=mid:0\r\n")
        assertSDPError(.badMSID, line: 6, withMediaLine("a=msid:"))
        assertSDPError(.badMSID, line: 6, withMediaLine("a=msid:a b c"))
        assertSDPError(.badMSID, line: 5, head + "a=msid-semantic: \r\n")
    }

    func testSimulcastAttributes() {
        assertSDPError(.badRID, line: 6, withMediaLine("a=rid:q sideways"))
        assertSDPError(.badRID, line: 6, withMediaLine("a=rid:q!! send"))
        assertSDPError(.badRID, line: 6, withMediaLine("a=rid:q send max-width=;x"))
        assertSDPError(.nonNumeric(field: "rid pt"), line: 6, withMediaLine("a=rid:q send pt=abc"))
        for bad in ["a=simulcast:send", "a=simulcast:sideways q", "a=simulcast:send q;;h",
                    "a=simulcast:send q send h", "a=simulcast:send ~", "a=simulcast:send q recv"] {
            assertSDPError(.badSimulcast, line: 6, withMediaLine(bad))
        }
    }

    func testTransportAttributes() {
        for bad in ["a=candidate:1 1 udp 1 1.2.3.4 9 typ", "a=candidate:1 1 udp 1 1.2.3.4 9 type host",
                    "a=candidate:1 1 udp 1 1.2.3.4 9 typ host generation",
                    "a=candidate:" + String(repeating: "f", count: 33) + " 1 udp 1 1.2.3.4 9 typ host",
                    "a=candidate:a_b 1 udp 1 1.2.3.4 9 typ host"] {
            assertSDPError(.badCandidate, line: 6, withMediaLine(bad))
        }
        assertSDPError(.nonNumeric(field: "candidate priority"), line: 6,
                       withMediaLine("a=candidate:1 1 udp high 1.2.3.4 9 typ host"))
        assertSDPError(.valueOutOfRange(field: "candidate component-id"), line: 6,
                       withMediaLine("a=candidate:1 0 udp 1 1.2.3.4 9 typ host"))
        assertSDPError(.valueOutOfRange(field: "candidate port"), line: 6,
                       withMediaLine("a=candidate:1 1 udp 1 1.2.3.4 65536 typ host"))
        assertSDPError(.nonNumeric(field: "candidate rport"), line: 6,
                       withMediaLine("a=candidate:1 1 udp 1 1.2.3.4 9 typ srflx raddr 0.0.0.0 rport x"))
        assertSDPError(.badFingerprint, line: 5, head + "a=fingerprint:sha-256\r\n")
        assertSDPError(.badFingerprint, line: 5, head + "a=fingerprint:sha-256 GG:00\r\n")
        assertSDPError(.badFingerprint, line: 5, head + "a=fingerprint:sha-256 0:01\r\n")
        assertSDPError(.badFingerprint, line: 5, head + "a=fingerprint:sha-256 00::01\r\n")
        assertSDPError(.badSetup, line: 5, head + "a=setup:sideways\r\n")
        assertSDPError(.badICECredentials, line: 5, head + "a=ice-ufrag:abc\r\n")
        assertSDPError(.badICECredentials, line: 5, head + "a=ice-ufrag:ab cd\r\n")
        assertSDPError(.badICECredentials, line: 6, withMediaLine("a=ice-pwd:tooshort"))
        assertSDPError(.badICECredentials, line: 6, withMediaLine("a=ice-pwd"))
        assertSDPError(.badICEOptions, line: 5, head + "a=ice-options:\r\n")
        assertSDPError(.badSCTP, line: 6, withMediaLine("a=sctp-port"))
        assertSDPError(.badSCTP, line: 6, withMediaLine("a=sctpmap:5000"))
        assertSDPError(.nonNumeric(field: "sctp-port"), line: 6, withMediaLine("a=sctp-port:x"))
        assertSDPError(.valueOutOfRange(field: "sctp-port"), line: 6, withMediaLine("a=sctp-port:70000"))
        assertSDPError(.nonNumeric(field: "max-message-size"), line: 6, withMediaLine("a=max-message-size:-1"))
    }

    func testErrorDescriptionNamesTheLine() {
        XCTAssertEqual(SDPError(line: 12, reason: .badRTPMap).description, "SDP line 12: badRTPMap")
        XCTAssertEqual(SDPError(line: 0, reason: .invalidUTF8).description, "SDP: invalidUTF8")
    }
}

/// Asserts that `body` throws an `SDPError` with `reason` on `line`.
func XCTAssertThrowsSDPError(_ reason: SDPError.Reason, line: Int, file: StaticString = #filePath,
                             sourceLine: UInt = #line, _ body: () throws -> SessionDescription) {
    do {
        _ = try body()
        XCTFail("parsed, expected \(reason)", file: file, line: sourceLine)
    } catch {
        XCTAssertEqual(error as? SDPError, SDPError(line: line, reason: reason), file: file, line: sourceLine)
    }
}
