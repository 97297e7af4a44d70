/// The `<cand-type>` of a candidate (RFC 8839 §5.1), open to unknown values.
public struct CandidateType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The token as written.
    public var rawValue: String
    /// Creates a type from its token.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// A local interface address.
    public static let host = CandidateType(rawValue: "host")
    /// Server reflexive (seen by a STUN server).
    public static let serverReflexive = CandidateType(rawValue: "srflx")
    /// Peer reflexive (learned from a connectivity check).
    public static let peerReflexive = CandidateType(rawValue: "prflx")
    /// Relayed through TURN.
    public static let relayed = CandidateType(rawValue: "relay")

    /// The token.
    public var description: String { rawValue }
}

/// `a=candidate:` (RFC 8839 §5.1):
/// `<foundation> <component-id> <transport> <priority> <address> <port> typ <cand-type>
/// [raddr <address>] [rport <port>] *(<extension name> <extension value>)`.
public struct ICECandidate: SDPAttributeValue {
    /// `candidate`.
    public static let attributeName = "candidate"

    /// 1–32 ice-chars shared by candidates of the same type, base and server.
    public var foundation: String
    /// 1 for RTP (or everything, with rtcp-mux), 2 for RTCP; 1–256.
    public var component: UInt16
    /// `udp` or `tcp` as written (RFC 8839 compares it case-insensitively).
    public var transport: String
    /// RFC 8445 §5.1.2 priority.
    public var priority: UInt32
    /// An IP address or, for mDNS-obfuscated candidates, a `.local` name.
    public var address: String
    /// The port; 9 for TCP active candidates (RFC 6544 §4.5).
    public var port: UInt16
    /// host, srflx, prflx, relay.
    public var type: CandidateType
    /// `raddr`: the related address (base or mapped address).
    public var relatedAddress: String?
    /// `rport`: the related port.
    public var relatedPort: UInt16?
    /// `tcptype`: active, passive or so (RFC 6544 §4.5).
    public var tcpType: String?
    /// Every other name/value extension pair in input order: `generation`, `ufrag`, `network-id`, …
    public var extensions: [Extension]

    /// One extension name/value pair of a candidate line.
    public struct Extension: Hashable, Sendable {
        /// The extension name.
        public var name: String
        /// The extension value.
        public var value: String

        /// Creates an extension pair.
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Creates a candidate.
    public init(foundation: String, component: UInt16 = 1, transport: String = "udp", priority: UInt32,
                address: String, port: UInt16, type: CandidateType, relatedAddress: String? = nil,
                relatedPort: UInt16? = nil, tcpType: String? = nil, extensions: [Extension] = []) {
        self.foundation = foundation
        self.component = component
        self.transport = transport
        self.priority = priority
        self.address = address
        self.port = port
        self.type = type
        self.relatedAddress = relatedAddress
        self.relatedPort = relatedPort
        self.tcpType = tcpType
        self.extensions = extensions
    }

    /// Parses the text after `a=candidate:`.
    public init(attributeValue: Substring) throws(SDPError.Reason) {
        let f = SDPScan.fields(attributeValue)
        guard f.count >= 8, f[6] == "typ", f.allSatisfy(SDPScan.isWord) else { throw .badCandidate }
        guard (1...32).contains(f[0].utf8.count), SDPScan.isICEChars(f[0]) else { throw .badCandidate }
        guard SDPScan.isToken(f[2]), SDPScan.isToken(f[7]) else { throw .badCandidate }
        // Extensions come in name/value pairs (RFC 8839 §5.1 extension-att-name SP extension-att-value).
        guard (f.count - 8) % 2 == 0 else { throw .badCandidate }
        self.init(foundation: String(f[0]),
                  component: try SDPScan.number(f[1], "candidate component-id", in: 1...256),
                  transport: String(f[2]),
                  priority: try SDPScan.number(f[3], "candidate priority", in: 1...UInt32.max),
                  address: String(f[4]),
                  port: try SDPScan.number(f[5], "candidate port"),
                  type: CandidateType(rawValue: String(f[7])))
        var index = 8
        while index < f.count {
            let name = f[index], value = f[index + 1]
            switch name {
            case "raddr" where relatedAddress == nil: relatedAddress = String(value)
            case "rport" where relatedPort == nil: relatedPort = try SDPScan.number(value, "candidate rport")
            case "tcptype" where tcpType == nil: tcpType = String(value)
            default: extensions.append(Extension(name: String(name), value: String(value)))
            }
            index += 2
        }
    }

    /// Parses a candidate as carried in trickle signalling, with or without the `candidate:` prefix.
    public init(parsing text: String) throws(SDPError.Reason) {
        var value = Substring(text)
        if SDPScan.hasPrefix(value, "a=") { value = SDPScan.dropBytes(value, 2) }
        if SDPScan.hasPrefix(value, "candidate:") { value = SDPScan.dropBytes(value, 10) }
        try self.init(attributeValue: value)
    }

    /// The text after `a=candidate:`.
    public var attributeValue: String {
        var f = [foundation, String(component), transport, String(priority), address, String(port), "typ", type.rawValue]
        if let relatedAddress { f += ["raddr", relatedAddress] }
        if let relatedPort { f += ["rport", String(relatedPort)] }
        if let tcpType { f += ["tcptype", tcpType] }
        for e in extensions { f += [e.name, e.value] }
        return f.joined(separator: " ")
    }

    /// The value of extension `name`, e.g. `network-id`.
    public func extensionValue(_ name: String) -> String? {
        extensions.first { $0.name == name }?.value
    }

    /// The `generation` extension (a libwebrtc convention), when present and numeric.
    public var generation: UInt32? {
        extensionValue("generation").flatMap { try? SDPScan.number($0[...], "generation") }
    }

    /// The `ufrag` extension, when present.
    public var ufrag: String? { extensionValue("ufrag") }

    /// Whether the transport is UDP.
    public var isUDP: Bool { transport.lowercased() == "udp" }
}
