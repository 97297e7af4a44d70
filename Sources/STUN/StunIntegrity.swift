import Wire
import CCohortOpenSSL

/// The MESSAGE-INTEGRITY computation of RFC 8489 §14.5 (HMAC-SHA1) and the
/// keys it uses (§9.1.1 short-term, §9.2.2 long-term).
public enum StunIntegrity {
    /// Size of the HMAC-SHA1 value.
    public static let length = 20

    /// The short-term key (RFC 8489 §9.1.1): the password's bytes. ICE
    /// passwords are ice-chars (RFC 8445 §5.3), which OpaqueString leaves unchanged.
    public static func shortTermKey(password: String) -> [UInt8] {
        Array(password.utf8)
    }

    /// The long-term key for MD5 (RFC 8489 §9.2.2): MD5(username ":" realm ":" password).
    ///
    /// The strings must already be prepared (OpaqueString / SASLprep); this
    /// function does not apply that profile. Cohort's ICE-lite role never uses
    /// long-term credentials; this exists for tests and a future TURN client.
    public static func longTermKey(username: String, realm: String, password: String) throws(StunError) -> [UInt8] {
        let input = Array("\(username):\(realm):\(password)".utf8)
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var size: UInt32 = 0
        let ok = input.withUnsafeBytes { i in
            digest.withUnsafeMutableBufferPointer { d in
                EVP_Digest(i.baseAddress, i.count, d.baseAddress, &size, EVP_md5(), nil) == 1
            }
        }
        guard ok, size == 16 else { throw .cryptoFailure("EVP_Digest(MD5)") }
        return Array(digest[0..<16])
    }

    /// HMAC-SHA1 of `message[0..<attributeOffset]` with the header's length
    /// field set to end just after a MESSAGE-INTEGRITY attribute placed at
    /// `attributeOffset` (RFC 8489 §14.5). Nil if OpenSSL fails.
    static func value(of message: [UInt8], attributeOffset: Int, key: [UInt8]) -> [UInt8]? {
        var covered = Array(message[0..<attributeOffset])
        covered.writeUInt16(UInt16(truncatingIfNeeded: attributeOffset + 4 + length - StunMessage.headerLength), at: 2)
        return hmacSHA1(key: key, data: covered)
    }

    /// OpenSSL's one-shot HMAC with SHA-1.
    static func hmacSHA1(key: [UInt8], data: [UInt8]) -> [UInt8]? {
        guard key.count <= Int(Int32.max) else { return nil }
        // HMAC() reads a NULL key as "reuse the previous key", so an empty
        // key is passed through a non-NULL pointer.
        let keyStorage = key.isEmpty ? [UInt8(0)] : key
        let keyLength = Int32(key.count)
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var outLength: UInt32 = 0
        let ok = keyStorage.withUnsafeBytes { k in
            data.withUnsafeBufferPointer { d in
                out.withUnsafeMutableBufferPointer { o in
                    HMAC(EVP_sha1(), k.baseAddress, keyLength, d.baseAddress, d.count, o.baseAddress, &outLength) != nil
                }
            }
        }
        guard ok, outLength == UInt32(length) else { return nil }
        return Array(out[0..<length])
    }

    /// Compares in time independent of where the first difference is, so a
    /// peer cannot learn the expected MAC byte by byte.
    static func constantTimeEqual(_ a: [UInt8], _ b: ArraySlice<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for (x, y) in zip(a, b) { diff |= x ^ y }
        return diff == 0
    }
}
