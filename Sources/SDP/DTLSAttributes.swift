import Wire

/// `a=fingerprint:<hash function> <XX:XX:...>` (RFC 8122 §5): the certificate
/// digest the DTLS handshake must match.
public struct Fingerprint: SDPAttributeValue {
    /// `fingerprint`.
    public static let attributeName = "fingerprint"

    /// The hash function name as written, e.g. `sha-256` (compare lower-cased).
    public var hashFunction: String
    /// The digest bytes.
    public var digest: [UInt8]

    /// Creates a fingerprint.
    public init(hashFunction: String, digest: [UInt8]) {
        self.hashFunction = hashFunction
        self.digest = digest
    }

    /// Parses the text after `a=fingerprint:`.
    public init(attributeValue: Substring) throws(SDPError.Reason) {
        let f = SDPScan.fields(attributeValue)
        guard f.count == 2, SDPScan.isToken(f[0]) else { throw .badFingerprint }
        // RFC 8122 §5: 2UHEX *(":" 2UHEX); lower case is tolerated as browsers do. 64 bytes is SHA-512.
        let pairs = SDPScan.split(f[1], UInt8(ascii: ":"))
        guard (1...64).contains(pairs.count), pairs.allSatisfy({ $0.utf8.count == 2 }),
              let digest = Hex.decode(String(f[1])), digest.count == pairs.count else { throw .badFingerprint }
        self.init(hashFunction: String(f[0]), digest: digest)
    }

    /// The text after `a=fingerprint:`, upper-case hex as RFC 8122 §5 requires.
    public var attributeValue: String {
        "\(hashFunction) \(Hex.encode(digest, separator: ":", uppercase: true))"
    }

    /// The hash function name lower-cased, for comparison (RFC 8122 §5 names are case-insensitive).
    public var normalizedHashFunction: String { hashFunction.lowercased() }
}

/// `a=setup:` (RFC 4145 §4, RFC 8842 §5): which side opens the DTLS association.
public enum SetupRole: String, SDPAttributeValue, CaseIterable {
    /// `setup`.
    public static let attributeName = "setup"

    /// This side initiates (DTLS client).
    case active
    /// This side waits (DTLS server); an ICE-lite SFU answers `passive`.
    case passive
    /// Offerer lets the answerer choose (RFC 8842 §5.2: offers use actpass).
    case actpass
    /// Not now.
    case holdconn

    /// Parses the text after `a=setup:`.
    public init(attributeValue: Substring) throws(SDPError.Reason) {
        guard let role = SetupRole(rawValue: String(attributeValue)) else { throw .badSetup }
        self = role
    }

    /// The text after `a=setup:`.
    public var attributeValue: String { rawValue }
}
