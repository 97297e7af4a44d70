import CCohortOpenSSL
import Wire

/// A certificate fingerprint as carried in SDP `a=fingerprint` (RFC 8122 §5):
/// a hash function name and the digest of the DER certificate.
public struct DTLSFingerprint: Hashable, Sendable, CustomStringConvertible {
    /// The hash functions Cohort accepts (RFC 8122 §5 names; SHA-1 and MD5 are refused).
    public enum Algorithm: String, CaseIterable, Sendable {
        /// SHA-256, what browsers send.
        case sha256 = "sha-256"
        /// SHA-384.
        case sha384 = "sha-384"
        /// SHA-512.
        case sha512 = "sha-512"

        /// Digest length in bytes.
        public var digestLength: Int {
            switch self {
            case .sha256: return 32
            case .sha384: return 48
            case .sha512: return 64
            }
        }

        var evpMD: OpaquePointer? {
            switch self {
            case .sha256: return EVP_sha256()
            case .sha384: return EVP_sha384()
            case .sha512: return EVP_sha512()
            }
        }
    }

    /// The hash function.
    public var algorithm: Algorithm
    /// The digest bytes.
    public var bytes: [UInt8]

    /// Creates a fingerprint from its parts.
    public init(algorithm: Algorithm, bytes: [UInt8]) {
        self.algorithm = algorithm
        self.bytes = bytes
    }

    /// Parses the SDP form "sha-256 AB:CD:...". The hash name is matched
    /// case-insensitively (RFC 8122 §5: hash-func is a token), the digest must be
    /// colon-separated pairs of hex digits of exactly the hash's length.
    public init(sdp: String) throws(DTLSError) {
        let parts = sdp.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard parts.count == 2, let algorithm = Algorithm(rawValue: parts[0].lowercased()) else {
            throw .invalidFingerprint(sdp)
        }
        let pairs = parts[1].split(separator: ":", omittingEmptySubsequences: false)
        guard pairs.count == algorithm.digestLength,
              pairs.allSatisfy({ $0.utf8.count == 2 }),
              let bytes = Hex.decode(String(parts[1])), bytes.count == algorithm.digestLength else {
            throw .invalidFingerprint(sdp)
        }
        self.init(algorithm: algorithm, bytes: bytes)
    }

    /// The SDP form, upper-case hex as browsers write it: "sha-256 AB:CD:...".
    public var sdpValue: String {
        "\(algorithm.rawValue) \(Hex.encode(bytes, separator: ":", uppercase: true))"
    }

    /// Same as `sdpValue`.
    public var description: String { sdpValue }

    /// The fingerprint of a DER certificate `x509` under `algorithm`; nil if OpenSSL fails.
    static func of(_ x509: OpaquePointer, algorithm: Algorithm) -> DTLSFingerprint? {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard X509_digest(x509, algorithm.evpMD, &digest, &length) == 1,
              Int(length) == algorithm.digestLength else { return nil }
        return DTLSFingerprint(algorithm: algorithm, bytes: Array(digest[0..<Int(length)]))
    }
}
