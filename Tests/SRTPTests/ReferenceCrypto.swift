import CCohortOpenSSL
import Wire
import XCTest

/// An independent SRTP implementation of the primitives, on OpenSSL, so the
/// tests can check libsrtp's bytes against the RFCs' definitions rather than
/// only against itself.
enum Reference {
    // MARK: OpenSSL primitives

    /// AES in counter mode: the keystream for `length` octets from the
    /// 128-bit counter `iv` (incremented as a big-endian integer).
    static func aesCTRKeystream(key: [UInt8], iv: [UInt8], length: Int) -> [UInt8] {
        precondition(iv.count == 16)
        let cipher: OpaquePointer?
        switch key.count {
        case 16: cipher = EVP_aes_128_ctr()
        case 24: cipher = EVP_aes_192_ctr()
        default: cipher = EVP_aes_256_ctr()
        }
        let ctx = EVP_CIPHER_CTX_new()
        defer { EVP_CIPHER_CTX_free(ctx) }
        precondition(EVP_EncryptInit_ex(ctx, cipher, nil, key, iv) == 1)
        let zeros = [UInt8](repeating: 0, count: length)
        var out = [UInt8](repeating: 0, count: length + 16)
        var written: Int32 = 0
        precondition(EVP_EncryptUpdate(ctx, &out, &written, zeros, Int32(length)) == 1)
        return Array(out[0..<Int(written)])
    }

    /// HMAC-SHA1 (RFC 2104), the SRTP default authentication (RFC 3711 §4.2.1).
    static func hmacSHA1(key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 20)
        var length: UInt32 = 0
        _ = HMAC(EVP_sha1(), key, Int32(key.count), data, data.count, &out, &length)
        return Array(out[0..<Int(length)])
    }

    /// AES-GCM encryption with a 16-octet tag: ciphertext || tag.
    static func gcmSeal(key: [UInt8], iv: [UInt8], aad: [UInt8], plaintext: [UInt8]) -> [UInt8] {
        let ctx = EVP_CIPHER_CTX_new()
        defer { EVP_CIPHER_CTX_free(ctx) }
        let cipher = key.count == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm()
        precondition(EVP_EncryptInit_ex(ctx, cipher, nil, nil, nil) == 1)
        precondition(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, Int32(iv.count), nil) == 1)
        precondition(EVP_EncryptInit_ex(ctx, nil, nil, key, iv) == 1)
        var written: Int32 = 0
        precondition(EVP_EncryptUpdate(ctx, nil, &written, aad, Int32(aad.count)) == 1)
        var out = [UInt8](repeating: 0, count: plaintext.count + 16)
        precondition(EVP_EncryptUpdate(ctx, &out, &written, plaintext, Int32(plaintext.count)) == 1)
        var scratch = [UInt8](repeating: 0, count: 16)
        var tail: Int32 = 0
        precondition(EVP_EncryptFinal_ex(ctx, &scratch, &tail) == 1 && tail == 0)
        var tag = [UInt8](repeating: 0, count: 16)
        precondition(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, &tag) == 1)
        return Array(out[0..<plaintext.count]) + tag
    }

    /// AES-GCM decryption of ciphertext || 16-octet tag; nil when the tag fails.
    static func gcmOpen(key: [UInt8], iv: [UInt8], aad: [UInt8], sealed: [UInt8]) -> [UInt8]? {
        guard sealed.count >= 16 else { return nil }
        let body = Array(sealed[0..<sealed.count - 16])
        var tag = Array(sealed[(sealed.count - 16)...])
        let ctx = EVP_CIPHER_CTX_new()
        defer { EVP_CIPHER_CTX_free(ctx) }
        let cipher = key.count == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm()
        precondition(EVP_DecryptInit_ex(ctx, cipher, nil, nil, nil) == 1)
        precondition(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, Int32(iv.count), nil) == 1)
        precondition(EVP_DecryptInit_ex(ctx, nil, nil, key, iv) == 1)
        var written: Int32 = 0
        precondition(EVP_DecryptUpdate(ctx, nil, &written, aad, Int32(aad.count)) == 1)
        var out = [UInt8](repeating: 0, count: body.count + 16)
        precondition(EVP_DecryptUpdate(ctx, &out, &written, body, Int32(body.count)) == 1)
        precondition(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, &tag) == 1)
        var scratch = [UInt8](repeating: 0, count: 16)
        var tail: Int32 = 0
        guard EVP_DecryptFinal_ex(ctx, &scratch, &tail) == 1 else { return nil }
        return Array(out[0..<body.count])
    }

    // MARK: SRTP definitions

    /// Key derivation labels (RFC 3711 §4.3.1, §4.3.2).
    enum Label: UInt8 {
        case rtpEncryption = 0, rtpAuthentication = 1, rtpSalt = 2
        case rtcpEncryption = 3, rtcpAuthentication = 4, rtcpSalt = 5
    }

    /// The AES-CM key derivation function with key_derivation_rate 0
    /// (RFC 3711 §4.3.1, §4.3.3; RFC 6188 §3 for 192/256-bit master keys).
    /// key_id = label || index DIV kdr (zero), x = key_id XOR master_salt,
    /// and the output is AES-CM keystream from IV = x * 2^16 under the
    /// master key. A 12-octet GCM master salt (RFC 7714 §12) is the leading
    /// 96 bits of the 112-bit field, the rest zero.
    static func deriveSessionKey(masterKey: [UInt8], masterSalt: [UInt8], label: Label, length: Int) -> [UInt8] {
        var x = masterSalt + [UInt8](repeating: 0, count: 14 - masterSalt.count)
        x[7] ^= label.rawValue
        return aesCTRKeystream(key: masterKey, iv: x + [0, 0], length: length)
    }

    /// The AES-CM IV (RFC 3711 §4.1.1):
    /// (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16), with i the 48-bit
    /// packet index (SRTP) or the 31-bit SRTCP index.
    static func aesCMIV(sessionSalt: [UInt8], ssrc: UInt32, index: UInt64) -> [UInt8] {
        var iv = sessionSalt + [0, 0]
        for k in 0..<4 { iv[4 + k] ^= UInt8(truncatingIfNeeded: ssrc >> (24 - 8 * k)) }
        for k in 0..<6 { iv[8 + k] ^= UInt8(truncatingIfNeeded: index >> (40 - 8 * k)) }
        return iv
    }

    /// The SRTP AEAD IV (RFC 7714 §8.1):
    /// (00 00 || SSRC || ROC || SEQ) XOR salt.
    static func gcmRTPIV(sessionSalt: [UInt8], ssrc: UInt32, roc: UInt32, sequence: UInt16) -> [UInt8] {
        var iv = [0, 0] + be32(ssrc) + be32(roc) + [UInt8(sequence >> 8), UInt8(sequence & 0xFF)]
        for k in 0..<12 { iv[k] ^= sessionSalt[k] }
        return iv
    }

    /// The SRTCP AEAD IV (RFC 7714 §9.1):
    /// (00 00 || SSRC || 00 00 || 0 || SRTCP index) XOR salt.
    static func gcmRTCPIV(sessionSalt: [UInt8], ssrc: UInt32, index: UInt32) -> [UInt8] {
        var iv = [0, 0] + be32(ssrc) + [0, 0] + [UInt8(index >> 24 & 0x7F), UInt8(index >> 16 & 0xFF),
                                                 UInt8(index >> 8 & 0xFF), UInt8(index & 0xFF)]
        for k in 0..<12 { iv[k] ^= sessionSalt[k] }
        return iv
    }

    /// Big-endian octets of `v`.
    static func be32(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
    }

    /// `a XOR b`, element-wise.
    static func xor(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
        zip(a, b).map { $0 ^ $1 }
    }
}

/// Hex literal for test vectors; traps on a typo in the test itself.
func hex(_ text: String) -> [UInt8] {
    guard let bytes = Hex.decode(text) else { preconditionFailure("bad hex literal: \(text)") }
    return bytes
}

/// Builders for packets the tests protect.
enum TestPacket {
    /// An RTP packet (RFC 3550 §5.1) with no CSRC or extension.
    static func rtp(ssrc: UInt32, sequence: UInt16, timestamp: UInt32 = 0x1234_5678,
                    payloadType: UInt8 = 111, payload: [UInt8]) -> [UInt8] {
        var p: [UInt8] = [0x80, payloadType & 0x7F, UInt8(sequence >> 8), UInt8(sequence & 0xFF)]
        p += Reference.be32(timestamp) + Reference.be32(ssrc) + payload
        return p
    }

    /// A receiver report with no report blocks plus `padding` words of
    /// opaque data, as a stand-in compound packet (RFC 3550 §6.4.2).
    static func rtcp(ssrc: UInt32, words: Int = 6) -> [UInt8] {
        var p: [UInt8] = [0x80, 201, 0, 1] + Reference.be32(ssrc)
        // An APP packet (RFC 3550 §6.7) to give the cipher something to encrypt.
        p += [0x80, 204, UInt8(words >> 8), UInt8(words & 0xFF)] + Reference.be32(ssrc) + Array("COHO".utf8)
        p += (0..<(4 * (words - 2))).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        return p
    }

    /// A payload of `count` octets that differ from each other.
    static func payload(_ count: Int, seed: Int = 0) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed) }
    }
}
