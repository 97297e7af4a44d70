/// One media section: its `m=` line and the lines that follow it up to the
/// next `m=` (RFC 8866 §5), in input order.
public struct MediaDescription: SDPAttributeContainer, Hashable, Sendable {
    /// The m= line.
    public var media: MediaLine
    /// The section's other lines (`c=`, `b=`, `a=`, …), in order.
    public var lines: [SDPLine]

    /// Creates a section.
    public init(media: MediaLine, lines: [SDPLine] = []) {
        self.media = media
        self.lines = lines
    }

    /// `audio`, `video`, `application`, …
    public var kind: MediaKind { media.kind }

    /// The section's `c=`, if any. Setting replaces the first `c=` or inserts one first.
    public var connection: ConnectionData? {
        get { lines.lazy.compactMap { $0.fieldValue("c") }.first.flatMap { try? ConnectionData(fieldValue: $0[...]) } }
        set { lines.setField("c", newValue?.fieldValue, insertAt: 0) }
    }

    /// `a=mid` (RFC 5888 §4).
    public var mid: String? { attributeValue("mid") }

    /// `a=msid` lines (RFC 8830 §2).
    public var msids: [MSID] { typedAttributes(MSID.self) }

    /// The direction attribute written in this section, if any (RFC 8866 §6.7).
    /// `SessionDescription.direction(of:)` applies the session-level and sendrecv defaults.
    public var explicitDirection: MediaDirection? {
        for line in lines {
            if let a = line.attribute, a.value == nil, let d = MediaDirection(rawValue: a.name) { return d }
        }
        return nil
    }

    /// `a=rtcp-mux` present (RFC 5761 §5.1.3).
    public var isRTCPMux: Bool { hasAttribute("rtcp-mux") }
    /// `a=rtcp-rsize` present (RFC 5506 §5).
    public var isRTCPReducedSize: Bool { hasAttribute("rtcp-rsize") }
    /// `a=bundle-only` present (RFC 8843 §6).
    public var isBundleOnly: Bool { hasAttribute("bundle-only") }
    /// Port 0 without bundle-only: the section is rejected or disabled (RFC 8829 §5.2.2, RFC 3264 §6).
    public var isRejected: Bool { media.port == 0 && !isBundleOnly }

    // MARK: RTP

    /// `a=rtpmap` lines.
    public var rtpMaps: [RTPMap] { typedAttributes(RTPMap.self) }
    /// `a=fmtp` lines.
    public var formatParameters: [FormatParameters] { typedAttributes(FormatParameters.self) }
    /// `a=rtcp-fb` lines.
    public var rtcpFeedback: [RTCPFeedback] { typedAttributes(RTCPFeedback.self) }

    /// The codecs in m= order (the author's preference), each with its fmtp and
    /// feedback. A format without an rtpmap is kept only if it is a static
    /// payload type known from RFC 3551.
    public var codecs: [Codec] {
        let maps = rtpMaps, fmtps = formatParameters, feedback = rtcpFeedback
        return media.payloadTypes.compactMap { pt in
            guard let map = maps.first(where: { $0.payloadType == pt }) ?? RTPMap.staticPayloadType(pt) else {
                return nil
            }
            return Codec(payloadType: pt, name: map.encodingName, clockRate: map.clockRate, channels: map.channels,
                         parameters: fmtps.first { $0.payloadType == pt },
                         feedback: feedback.filter { $0.applies(to: pt) })
        }
    }

    /// The codec for `payloadType`, if offered.
    public func codec(payloadType: UInt8) -> Codec? { codecs.first { $0.payloadType == payloadType } }

    /// The first codec called `name` (case-insensitive), e.g. `opus`.
    public func codec(named name: String) -> Codec? { codecs.first { $0.isNamed(name) } }

    /// `a=extmap` lines (RFC 8285 §8).
    public var extMaps: [ExtMap] { typedAttributes(ExtMap.self) }

    /// The header-extension id negotiated for `uri`, e.g. `urn:ietf:params:rtp-hdrext:sdes:mid`.
    public func extensionID(for uri: String) -> UInt16? { extMaps.first { $0.uri == uri }?.id }

    // MARK: Sources

    /// `a=ssrc` lines (RFC 5576 §4.1).
    public var ssrcAttributes: [SSRCAttribute] { typedAttributes(SSRCAttribute.self) }
    /// `a=ssrc-group` lines (RFC 5576 §4.2).
    public var ssrcGroups: [SSRCGroup] { typedAttributes(SSRCGroup.self) }

    /// Every SSRC named in `a=ssrc` or `a=ssrc-group`, in first-appearance order, without repeats.
    public var ssrcs: [UInt32] {
        var seen: Set<UInt32> = []
        var out: [UInt32] = []
        for line in lines {
            guard let a = line.attribute else { continue }
            let ids = a.parsed(as: SSRCAttribute.self).map { [$0.ssrc] } ?? a.parsed(as: SSRCGroup.self)?.ssrcs ?? []
            for id in ids where seen.insert(id).inserted { out.append(id) }
        }
        return out
    }

    /// The SSRCs the author will send in this section: all its SSRCs when the
    /// direction written here sends (sendrecv by default, RFC 8866 §6.7), else none.
    /// `SessionDescription.sendSSRCs(of:)` also honours a session-level direction.
    /// aiortc lists an SSRC in recvonly sections too (for its RTCP); that one is not a send SSRC.
    public var sendSSRCs: [UInt32] { (explicitDirection ?? .sendrecv).sends ? ssrcs : [] }

    /// The primary SSRCs: those that are not the repair (second) member of an FID group.
    public var primarySSRCs: [UInt32] {
        let repairs = Set(ssrcGroups.filter { $0.semantics == SSRCGroup.flowIdentification }.flatMap { $0.ssrcs.dropFirst() })
        return ssrcs.filter { !repairs.contains($0) }
    }

    /// The RTX SSRC paired with `primary` by an FID group (RFC 4588 §8.7).
    public func rtxSSRC(for primary: UInt32) -> UInt32? {
        for group in ssrcGroups where group.semantics == SSRCGroup.flowIdentification && group.ssrcs.count >= 2 {
            if group.ssrcs[0] == primary { return group.ssrcs[1] }
        }
        return nil
    }

    /// The value of source attribute `name` (e.g. `cname`) for `ssrc`.
    public func sourceAttribute(_ name: String, ssrc: UInt32) -> String? {
        ssrcAttributes.first { $0.ssrc == ssrc && $0.name == name }?.value
    }

    /// `a=rid` lines (RFC 8851).
    public var rids: [RID] { typedAttributes(RID.self) }
    /// `a=simulcast` (RFC 8853).
    public var simulcast: Simulcast? { attribute(named: Simulcast.attributeName)?.parsed(as: Simulcast.self) }

    // MARK: ICE

    /// `a=candidate` lines (RFC 8839 §5.1).
    public var candidates: [ICECandidate] { typedAttributes(ICECandidate.self) }
    /// `a=end-of-candidates` present (RFC 8840 §8.2).
    public var isEndOfCandidates: Bool { hasAttribute("end-of-candidates") }

    // MARK: Data channels

    /// `a=sctp-port` (RFC 8841 §5.2), or the port of a legacy `a=sctpmap`.
    public var sctpPort: UInt16? {
        if let value = attributeValue("sctp-port"), let port = try? SDPScan.number(value[...], "sctp-port", as: UInt16.self) {
            return port
        }
        return sctpMap?.port
    }
    /// `a=max-message-size` (RFC 8841 §6).
    public var maxMessageSize: UInt64? {
        attributeValue("max-message-size").flatMap { try? SDPScan.number($0[...], "max-message-size") }
    }
    /// A legacy `a=sctpmap` (draft-ietf-mmusic-sctp-sdp-05).
    public var sctpMap: SCTPMap? { attribute(named: SCTPMap.attributeName)?.parsed(as: SCTPMap.self) }
}

extension Array where Element == SDPLine {
    /// Replaces the first line of `type` with `value`, inserts it at `index` if absent,
    /// or removes every such line when `value` is nil.
    mutating func setField(_ type: Character, _ value: String?, insertAt index: Int) {
        guard let value else {
            removeAll { $0.fieldValue(type) != nil }
            return
        }
        if let i = firstIndex(where: { $0.fieldValue(type) != nil }) {
            self[i] = .field(type: type, value: value)
        } else {
            insert(.field(type: type, value: value), at: Swift.min(index, count))
        }
    }
}
