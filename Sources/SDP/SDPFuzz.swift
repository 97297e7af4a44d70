/// The fuzz entry point for the SDP parser (wired to libFuzzer by the fuzz package).
public enum SDPFuzz {
    /// Parses `data` (decoded as UTF-8, invalid sequences replaced), and when
    /// that succeeds, generates, reparses and reads every typed view.
    ///
    /// Peer input never traps here. A broken round trip is a bug in this
    /// module, not bad input, so that alone stops the process: that is what
    /// the fuzzer is looking for.
    public static func run(_ data: [UInt8]) {
        if let violation = check(data) {
            preconditionFailure("SDP round-trip invariant broken: \(violation)")
        }
    }

    /// Like `run`, but returns a description of a broken invariant instead of trapping.
    public static func check(_ data: [UInt8]) -> String? {
        let text = String(decoding: data, as: UTF8.self)
        guard let first = try? SessionDescription.parse(text) else { return nil }
        let generated = first.generate()
        let second: SessionDescription
        do { second = try SessionDescription.parse(generated) } catch { return "reparse failed: \(error)" }
        guard first == second else { return "reparse differs" }
        guard second.generate() == generated else { return "second generation differs" }
        return checkTypedViews(first)
    }

    /// Reads every typed view and checks that each typed attribute renders to text that parses back equal.
    static func checkTypedViews(_ description: SessionDescription) -> String? {
        _ = (description.origin, description.timing, description.connection, description.bundleMIDs,
             description.msidSemantic, description.isICELite)
        var containers: [[SDPLine]] = [description.lines]
        for section in description.mediaSections {
            containers.append(section.lines)
            _ = (section.codecs, section.ssrcs, section.sendSSRCs, section.primarySSRCs, section.candidates,
                 section.rids, section.simulcast, section.extMaps, section.sctpPort, section.maxMessageSize,
                 section.connection, section.msids, section.explicitDirection)
            _ = (description.iceUfrag(for: section), description.icePwd(for: section),
                 description.fingerprints(for: section), description.setup(for: section),
                 description.direction(of: section), description.iceOptions(for: section))
            for ssrc in section.ssrcs { _ = section.rtxSSRC(for: ssrc) }
            guard (try? MediaLine(fieldValue: section.media.fieldValue[...])) == section.media else {
                return "m= line does not round-trip"
            }
        }
        for lines in containers {
            for case .attribute(let attribute) in lines {
                if let problem = roundTrip(attribute) { return problem }
            }
        }
        return nil
    }

    /// Every typed attribute value this module defines.
    static let typedAttributeTypes: [any SDPAttributeValue.Type] = [
        RTPMap.self, FormatParameters.self, RTCPFeedback.self, ExtMap.self, ICECandidate.self,
        SSRCAttribute.self, SSRCGroup.self, SDPGroup.self, MSID.self, MSIDSemantic.self, RID.self,
        Simulcast.self, Fingerprint.self, SetupRole.self, SCTPMap.self,
    ]

    private static func roundTrip(_ attribute: SDPAttribute) -> String? {
        for type in typedAttributeTypes {
            if let problem = roundTrip(attribute, as: type) { return problem }
        }
        return nil
    }

    private static func roundTrip<Value: SDPAttributeValue>(_ attribute: SDPAttribute, as type: Value.Type) -> String? {
        guard let typed = attribute.parsed(as: type) else { return nil }
        guard (try? Value(attributeValue: typed.attributeValue[...])) == typed else {
            return "a=\(Value.attributeName) does not round-trip through its typed form"
        }
        return nil
    }
}
