/// Why an SDP blob (RFC 8866) was rejected, and on which line.
///
/// Every malformed input yields one of these; the parser never traps. `line`
/// is 1-based and counts lines as they appear in the input (`v=` is line 1);
/// it is 0 when the problem concerns the input as a whole (its size, a line
/// that is missing altogether).
public struct SDPError: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// 1-based line number in the input, or 0 for the input as a whole.
    public var line: Int
    /// What was wrong.
    public var reason: Reason

    /// Creates an error for `line` (0 = whole input).
    public init(line: Int, reason: Reason) {
        self.line = line
        self.reason = reason
    }

    /// The classes of malformed SDP a caller may want to tell apart.
    /// Typed attribute parsers (`RTPMap(attributeValue:)`, …) throw a bare `Reason`;
    /// the description parser wraps it with the line number.
    public enum Reason: Error, Equatable, Hashable, Sendable {
        /// The input is larger than `SDPLimits.maxBytes`.
        case inputTooLarge(limit: Int)
        /// The input has more lines than `SDPLimits.maxLines`.
        case tooManyLines(limit: Int)
        /// A line is longer than `SDPLimits.maxLineLength` bytes.
        case lineTooLong(limit: Int)
        /// The input has more `m=` sections than `SDPLimits.maxMediaSections`.
        case tooManyMediaSections(limit: Int)
        /// The bytes are not valid UTF-8 (RFC 8866 §5 uses ISO 10646/UTF-8).
        case invalidUTF8
        /// A NUL byte, or a CR that does not end a line (RFC 8866 §5 forbids both in text).
        case invalidCharacter
        /// The line is not `<type>=<value>` with a lower-case letter type, or is empty,
        /// or is an `a=` line without an attribute name.
        case malformedLine
        /// A required line is absent: `v=` first, then `o=`, `s=`, `t=` (RFC 8866 §5).
        case missingLine(Character)
        /// A `v=` line other than the first one.
        case unexpectedLine(Character)
        /// `v=` is not `0` (RFC 8866 §5.1).
        case unsupportedVersion
        /// `o=` is not `<username> <sess-id> <sess-version> <nettype> <addrtype> <address>` (§5.2).
        case badOrigin
        /// `t=` is not `<start-time> <stop-time>` (§5.9).
        case badTiming
        /// `c=` is not `<nettype> <addrtype> <connection-address>` (§5.7).
        case badConnection
        /// `m=` is not `<media> <port>[/<number>] <proto> <fmt> ...` in canonical form (§5.14).
        case badMediaLine
        /// `a=rtpmap` is not `<pt> <encoding>/<clock rate>[/<channels>]` (§6.6).
        case badRTPMap
        /// `a=fmtp` is not `<format> <parameters>` (§6.15).
        case badFormatParameters
        /// `a=rtcp-fb` is not `<pt>|* <type> [<parameters>]` (RFC 4585 §4.2).
        case badRTCPFeedback
        /// `a=extmap` is not `<id>[/<direction>] <uri> [<attributes>]` (RFC 8285 §8).
        case badExtMap
        /// `a=candidate` does not follow RFC 8839 §5.1.
        case badCandidate
        /// `a=ssrc` is not `<ssrc> <attribute>[:<value>]` (RFC 5576 §4.1).
        case badSSRC
        /// `a=ssrc-group` is not `<semantics> <ssrc> ...` (RFC 5576 §4.2).
        case badSSRCGroup
        /// `a=group` has no semantics (RFC 5888 §5).
        case badGroup
        /// `a=mid` is empty or not a token (RFC 5888 §4).
        case badMID
        /// Two media sections carry the same `a=mid` (RFC 5888 §4, RFC 8843 §7.2).
        case duplicateMID(String)
        /// `a=msid` or `a=msid-semantic` is malformed (RFC 8830 §2).
        case badMSID
        /// `a=rid` does not follow RFC 8851 §10.
        case badRID
        /// `a=simulcast` does not follow RFC 8853 §5.1.
        case badSimulcast
        /// `a=fingerprint` is not `<hash> XX:XX:...` (RFC 8122 §5).
        case badFingerprint
        /// `a=setup` is not active, passive, actpass or holdconn (RFC 4145 §4).
        case badSetup
        /// `a=ice-ufrag` / `a=ice-pwd` break RFC 8839 §5.4 (charset, 4/22–256 chars).
        case badICECredentials
        /// `a=ice-options` is empty or has an empty token (RFC 8839 §5.6).
        case badICEOptions
        /// `a=sctp-port`, `a=max-message-size` or `a=sctpmap` is malformed (RFC 8841 §5).
        case badSCTP
        /// A field that must be a decimal number is not one.
        case nonNumeric(field: String)
        /// A numeric field is outside its allowed range.
        case valueOutOfRange(field: String)
    }

    /// "line 12: badRTPMap", for logs.
    public var description: String {
        line == 0 ? "SDP: \(reason)" : "SDP line \(line): \(reason)"
    }
}
