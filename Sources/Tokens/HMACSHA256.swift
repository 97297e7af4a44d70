import CCohortOpenSSL

/// HMAC-SHA-256 (RFC 2104 with SHA-256, RFC 4231 vectors) on OpenSSL's one-shot `HMAC()`.
public enum HMACSHA256 {
    /// Length of the authentication tag in bytes.
    public static let tagLength = 32

    /// Computes the 32-byte HMAC-SHA-256 of `message` under `key`.
    public static func authenticate(_ message: some Collection<UInt8>, key: [UInt8]) -> [UInt8] {
        let message = Array(message)
        var tag = [UInt8](repeating: 0, count: tagLength)
        var tagLength: UInt32 = 0
        // OpenSSL's HMAC() needs a non-NULL key pointer even for an empty key, and an
        // empty Swift array has no base address; one placeholder byte with length 0
        // stands in for it.
        let keyBytes = key.isEmpty ? [0] : key
        let result = keyBytes.withUnsafeBufferPointer { k in
            message.withUnsafeBufferPointer { m in
                tag.withUnsafeMutableBufferPointer { t in
                    HMAC(EVP_sha256(), k.baseAddress, Int32(key.count),
                         m.baseAddress ?? k.baseAddress, m.count, t.baseAddress, &tagLength)
                }
            }
        }
        // HMAC() fails only on allocation failure or a missing digest: our invariant, not peer input.
        precondition(result != nil && tagLength == UInt32(Self.tagLength), "OpenSSL HMAC-SHA-256 failed")
        return tag
    }

    /// Compares two byte strings in time that depends only on their lengths, so an
    /// attacker cannot learn how many leading bytes of a forged tag were right.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}
