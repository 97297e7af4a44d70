/// The DTLS-SRTP protection profiles Cohort negotiates (RFC 5764 §4.1.2,
/// RFC 7714 §14.2), shared by the DTLS module (which negotiates and exports
/// keys) and the SRTP module (which uses them).
public enum SRTPProtectionProfile: UInt16, CaseIterable, Sendable {
    /// SRTP_AES128_CM_HMAC_SHA1_80 (RFC 5764).
    case aes128CmHmacSha1_80 = 0x0001
    /// SRTP_AES128_CM_HMAC_SHA1_32 (RFC 5764).
    case aes128CmHmacSha1_32 = 0x0002
    /// SRTP_AEAD_AES_128_GCM (RFC 7714).
    case aeadAes128Gcm = 0x0007
    /// SRTP_AEAD_AES_256_GCM (RFC 7714).
    case aeadAes256Gcm = 0x0008

    /// Master key length in bytes.
    public var keyLength: Int {
        switch self {
        case .aes128CmHmacSha1_80, .aes128CmHmacSha1_32, .aeadAes128Gcm: return 16
        case .aeadAes256Gcm: return 32
        }
    }

    /// Master salt length in bytes (RFC 7714 §12: 12 for GCM).
    public var saltLength: Int {
        switch self {
        case .aes128CmHmacSha1_80, .aes128CmHmacSha1_32: return 14
        case .aeadAes128Gcm, .aeadAes256Gcm: return 12
        }
    }

    /// The name OpenSSL uses in `SSL_CTX_set_tlsext_use_srtp`.
    public var openSSLName: String {
        switch self {
        case .aes128CmHmacSha1_80: return "SRTP_AES128_CM_SHA1_80"
        case .aes128CmHmacSha1_32: return "SRTP_AES128_CM_SHA1_32"
        case .aeadAes128Gcm: return "SRTP_AEAD_AES_128_GCM"
        case .aeadAes256Gcm: return "SRTP_AEAD_AES_256_GCM"
        }
    }

    /// Cohort's order of preference as DTLS server: GCM first, because
    /// Debian's libsrtp2 (built on NSS) spends several times the CPU on AES-CM.
    public static let serverPreference: [SRTPProtectionProfile] =
        [.aeadAes256Gcm, .aeadAes128Gcm, .aes128CmHmacSha1_80, .aes128CmHmacSha1_32]
}

/// Keying material exported from a DTLS-SRTP handshake (RFC 5764 §4.2):
/// `EXTRACTOR-dtls_srtp` output split into client and server write keys and salts.
public struct SRTPKeyingMaterial: Equatable, Sendable {
    /// The negotiated profile.
    public var profile: SRTPProtectionProfile
    /// Master key used by the DTLS client to protect what it sends.
    public var clientWriteKey: [UInt8]
    /// Master key used by the DTLS server to protect what it sends.
    public var serverWriteKey: [UInt8]
    /// Master salt of the client's direction.
    public var clientWriteSalt: [UInt8]
    /// Master salt of the server's direction.
    public var serverWriteSalt: [UInt8]

    /// Splits the exporter output `client_key | server_key | client_salt | server_salt`.
    /// Nil when `exported` is not exactly `2 * (key + salt)` bytes for `profile`.
    public init?(profile: SRTPProtectionProfile, exported: [UInt8]) {
        let k = profile.keyLength, s = profile.saltLength
        guard exported.count == 2 * (k + s) else { return nil }
        self.profile = profile
        clientWriteKey = Array(exported[0..<k])
        serverWriteKey = Array(exported[k..<2 * k])
        clientWriteSalt = Array(exported[2 * k..<2 * k + s])
        serverWriteSalt = Array(exported[2 * k + s..<2 * k + 2 * s])
    }

    /// Creates material from its parts.
    public init(profile: SRTPProtectionProfile, clientWriteKey: [UInt8], serverWriteKey: [UInt8],
                clientWriteSalt: [UInt8], serverWriteSalt: [UInt8]) {
        self.profile = profile
        self.clientWriteKey = clientWriteKey
        self.serverWriteKey = serverWriteKey
        self.clientWriteSalt = clientWriteSalt
        self.serverWriteSalt = serverWriteSalt
    }
}
