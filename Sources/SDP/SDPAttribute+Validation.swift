extension SDPAttribute {
    /// Checks that an attribute this module understands is well formed, so that
    /// typed accessors on a parsed description never meet text they cannot read.
    /// Unknown attributes pass untouched (RFC 8866 §5.13: ignore what you do not know).
    func validate() throws(SDPError.Reason) {
        switch name {
        case RTPMap.attributeName: try check(RTPMap.self, .badRTPMap)
        case FormatParameters.attributeName: try check(FormatParameters.self, .badFormatParameters)
        case RTCPFeedback.attributeName: try check(RTCPFeedback.self, .badRTCPFeedback)
        case ExtMap.attributeName: try check(ExtMap.self, .badExtMap)
        case ICECandidate.attributeName: try check(ICECandidate.self, .badCandidate)
        case SSRCAttribute.attributeName: try check(SSRCAttribute.self, .badSSRC)
        case SSRCGroup.attributeName: try check(SSRCGroup.self, .badSSRCGroup)
        case SDPGroup.attributeName: try check(SDPGroup.self, .badGroup)
        case MSID.attributeName: try check(MSID.self, .badMSID)
        case MSIDSemantic.attributeName: try check(MSIDSemantic.self, .badMSID)
        case RID.attributeName: try check(RID.self, .badRID)
        case Simulcast.attributeName: try check(Simulcast.self, .badSimulcast)
        case Fingerprint.attributeName: try check(Fingerprint.self, .badFingerprint)
        case SetupRole.attributeName: try check(SetupRole.self, .badSetup)
        case SCTPMap.attributeName: try check(SCTPMap.self, .badSCTP)
        case "mid":
            // RFC 5888 §4: identification-tag = token. RFC 8843 §9.1 sends it in RTP,
            // where the one-byte header caps it at 16 bytes; allow more in SDP but bound it.
            guard let value, SDPScan.isToken(value[...]), value.utf8.count <= 255 else { throw .badMID }
        case "ice-ufrag":
            // RFC 8839 §5.4: ice-ufrag 4*256ice-char, ice-pwd 22*256ice-char.
            guard let value, (4...256).contains(value.utf8.count), SDPScan.isICEChars(value[...]) else {
                throw .badICECredentials
            }
        case "ice-pwd":
            guard let value, (22...256).contains(value.utf8.count), SDPScan.isICEChars(value[...]) else {
                throw .badICECredentials
            }
        case "ice-options":
            guard let value, !SDPScan.fields(value[...]).isEmpty,
                  SDPScan.fields(value[...]).allSatisfy(SDPScan.isToken) else { throw .badICEOptions }
        case "sctp-port":
            // RFC 8841 §5.2: sctp-port = port (0–65535).
            guard let value else { throw .badSCTP }
            let _: UInt16 = try SDPScan.number(value[...], "sctp-port")
        case "max-message-size":
            // RFC 8841 §6.2: 1*DIGIT; 0 means no limit.
            guard let value else { throw .badSCTP }
            let _: UInt64 = try SDPScan.number(value[...], "max-message-size")
        default:
            return
        }
    }

    private func check<Value: SDPAttributeValue>(_ type: Value.Type,
                                                  _ missing: SDPError.Reason) throws(SDPError.Reason) {
        guard let value else { throw missing }
        _ = try Value(attributeValue: value[...])
    }
}

extension SDPAttribute {
    /// `a=ice-lite` (RFC 8839 §5.3): the author only answers connectivity checks, as Cohort does.
    public static let iceLite = SDPAttribute(name: "ice-lite")
    /// `a=rtcp-mux` (RFC 5761 §5.1.3): RTP and RTCP share one port.
    public static let rtcpMux = SDPAttribute(name: "rtcp-mux")
    /// `a=rtcp-rsize` (RFC 5506 §5): reduced-size RTCP allowed.
    public static let rtcpReducedSize = SDPAttribute(name: "rtcp-rsize")
    /// `a=end-of-candidates` (RFC 8840 §8.2): no more candidates will come.
    public static let endOfCandidates = SDPAttribute(name: "end-of-candidates")
    /// `a=extmap-allow-mixed` (RFC 8285 §6): one- and two-byte headers may be mixed.
    public static let extmapAllowMixed = SDPAttribute(name: "extmap-allow-mixed")

    /// `a=mid:<mid>` (RFC 5888 §4).
    public static func mid(_ mid: String) -> SDPAttribute { SDPAttribute(name: "mid", value: mid) }
    /// `a=ice-ufrag:<ufrag>` (RFC 8839 §5.4).
    public static func iceUfrag(_ ufrag: String) -> SDPAttribute { SDPAttribute(name: "ice-ufrag", value: ufrag) }
    /// `a=ice-pwd:<pwd>` (RFC 8839 §5.4).
    public static func icePwd(_ pwd: String) -> SDPAttribute { SDPAttribute(name: "ice-pwd", value: pwd) }
    /// `a=ice-options:<tokens>` (RFC 8839 §5.6).
    public static func iceOptions(_ options: [String]) -> SDPAttribute {
        SDPAttribute(name: "ice-options", value: options.joined(separator: " "))
    }
    /// `a=sctp-port:<port>` (RFC 8841 §5.2).
    public static func sctpPort(_ port: UInt16) -> SDPAttribute { SDPAttribute(name: "sctp-port", value: String(port)) }
    /// `a=max-message-size:<bytes>` (RFC 8841 §6).
    public static func maxMessageSize(_ size: UInt64) -> SDPAttribute {
        SDPAttribute(name: "max-message-size", value: String(size))
    }
}
