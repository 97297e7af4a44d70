import SRTP
import Wire
import XCTest

/// RFC 7714 AES-GCM for SRTP.
///
/// §16 and §17 give session keys and salts directly, but libsrtp 2.5 takes
/// only master keys and always runs the KDF, so it cannot be fed them. The
/// vectors are therefore checked against the reference AEAD (OpenSSL
/// AES-GCM with the §8.1/§9.1 IV and §8.2/§9.2 AAD); then libsrtp's packets
/// must equal what that same reference computes from session keys derived
/// with the RFC 3711/6188 KDF (RFC 7714 §11), in both directions.
final class RFC7714Tests: XCTestCase {
    let key128 = hex("000102030405060708090a0b0c0d0e0f")
    let key256 = hex("000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1f")
    let salt = hex("517569642070726f2071756f")  // "Quid pro quo"

    /// §16: the RTP packet all RTP vectors encrypt ("Gallia est omnis divisa in partes tres").
    let rtpPlain = hex("""
        8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973 20646976
        69736120 696e2070 61727465 73207472 6573
        """)
    /// §17: the RTCP packet both SRTCP vectors encrypt, SRTCP index 0x5d4.
    let rtcpPlain = hex("""
        81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61
        deadbeef deadbeef deadbeef deadbeef deadbeef
        """)

    /// §16.1.1 SRTP AEAD_AES_128_GCM encryption.
    func testSection16_1_1RTPAES128GCM() {
        checkRTP(key: key128, expected: hex("""
            8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5
            0d294e6f 42a5f47a 51c7d19b 36de3adf 8833899d 7f27beb1 6a9152cf 765ee439
            0cce
            """))
    }

    /// §16.2.1 SRTP AEAD_AES_256_GCM encryption.
    func testSection16_2_1RTPAES256GCM() {
        checkRTP(key: key256, expected: hex("""
            8040f17b 8041f8d3 5501a0b2 32b1de78 a822fe12 ef9f78fa 332e33aa b1801238
            9a58e2f3 b50b2a02 76ffae0f 1ba63799 b87b7aa3 db36dfff d6b0f9bb 7878d7a7
            6c13
            """))
    }

    /// §17.1 SRTCP AEAD_AES_128_GCM encryption and tagging.
    func testSection17_1RTCPAES128GCM() {
        checkRTCP(key: key128, expected: hex("""
            81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d
            c676a5f1 730d6fda 4ce09b46 86303ded 0bb9275b c84aa458 96cf4d2f c5abf872
            45d9eade 800005d4
            """))
    }

    /// §17.2 SRTCP AEAD_AES_256_GCM encryption and tagging.
    func testSection17_2RTCPAES256GCM() {
        checkRTCP(key: key256, expected: hex("""
            81c8000d 4d617273 d50ae4d1 f5ce5d30 4ba297e4 7d470c28 2c3ece5d bffe0a50
            a2eaa5c1 110555be 8415f658 c61de047 6f1b6fad 1d1eb30c 4446839f 57ff6f6c
            b26ac3be 800005d4
            """))
    }

    private func checkRTP(key: [UInt8], expected: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        // §16: SSRC 5501a0b2, ROC 0, SEQ f17b give IV 51753c65 80c2726f 20718414.
        let iv = Reference.gcmRTPIV(sessionSalt: salt, ssrc: 0x5501_a0b2, roc: 0, sequence: 0xf17b)
        XCTAssertEqual(iv, hex("51753c6580c2726f20718414"), file: file, line: line)
        let header = Array(rtpPlain.prefix(12))  // §8.2: AAD is the RTP header.
        let sealed = Reference.gcmSeal(key: key, iv: iv, aad: header, plaintext: Array(rtpPlain.dropFirst(12)))
        XCTAssertEqual(header + sealed, expected, "encryption", file: file, line: line)
        // §16.x.2, decryption, and a flipped bit anywhere must fail.
        XCTAssertEqual(Reference.gcmOpen(key: key, iv: iv, aad: header, sealed: Array(expected.dropFirst(12))),
                       Array(rtpPlain.dropFirst(12)), "decryption", file: file, line: line)
        var tampered = Array(expected.dropFirst(12))
        tampered[5] ^= 0x01
        XCTAssertNil(Reference.gcmOpen(key: key, iv: iv, aad: header, sealed: tampered), file: file, line: line)
    }

    private func checkRTCP(key: [UInt8], expected: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        // §17: SSRC 4d617273 ("Mars"), index 5d4 give IV 51752405 5203726f 207170bb.
        let iv = Reference.gcmRTCPIV(sessionSalt: salt, ssrc: 0x4d61_7273, index: 0x5d4)
        XCTAssertEqual(iv, hex("517524055203726f207170bb"), file: file, line: line)
        let eIndex = hex("800005d4")
        // §9.2/§17: AAD is the first 8 octets of the header then E || index,
        // and the packet is header || ciphertext || tag || E || index.
        let aad = Array(rtcpPlain.prefix(8)) + eIndex
        let sealed = Reference.gcmSeal(key: key, iv: iv, aad: aad, plaintext: Array(rtcpPlain.dropFirst(8)))
        XCTAssertEqual(Array(rtcpPlain.prefix(8)) + sealed + eIndex, expected, file: file, line: line)
        XCTAssertEqual(Reference.gcmOpen(key: key, iv: iv, aad: aad, sealed: Array(expected[8..<(expected.count - 4)])),
                       Array(rtcpPlain.dropFirst(8)), "decryption", file: file, line: line)
    }

    // MARK: libsrtp against the reference

    /// libsrtp's AEAD packets equal the reference AEAD under session keys
    /// derived by the KDF (labels 0/2 for SRTP, 3/5 for SRTCP; 12-octet
    /// session salt), including the ROC after a sequence wrap.
    func testLibSRTPMatchesReferenceAEAD() throws {
        for (profile, masterKey) in [(SRTPProtectionProfile.aeadAes128Gcm, key128), (.aeadAes256Gcm, key256)] {
            let masterSalt = salt
            func derive(_ label: Reference.Label, _ length: Int) -> [UInt8] {
                Reference.deriveSessionKey(masterKey: masterKey, masterSalt: masterSalt, label: label, length: length)
            }
            let rtpKey = derive(.rtpEncryption, masterKey.count), rtpSalt = derive(.rtpSalt, 12)
            let rtcpKey = derive(.rtcpEncryption, masterKey.count), rtcpSalt = derive(.rtcpSalt, 12)
            let context = try SRTPContext(profile: profile, outboundKey: masterKey, outboundSalt: masterSalt,
                                          inboundKey: masterKey, inboundSalt: masterSalt)

            let ssrc: UInt32 = 0x5501_a0b2
            let payload = Array(rtpPlain.dropFirst(12))
            for (sequence, roc) in [(UInt16(0xfffe), UInt32(0)), (0xffff, 0), (0, 1), (1, 1)] {
                let plain = TestPacket.rtp(ssrc: ssrc, sequence: sequence, payload: payload)
                var packet = plain
                try context.protectRTP(&packet)
                let iv = Reference.gcmRTPIV(sessionSalt: rtpSalt, ssrc: ssrc, roc: roc, sequence: sequence)
                let expected = Array(plain.prefix(12))
                    + Reference.gcmSeal(key: rtpKey, iv: iv, aad: Array(plain.prefix(12)), plaintext: payload)
                XCTAssertEqual(packet, expected, "\(profile) seq \(sequence)")
            }

            let rtcp = rtcpPlain
            var packet = rtcp
            try context.protectRTCP(&packet)
            let word = packet.readUInt32(at: packet.count - 4)
            XCTAssertEqual(word >> 31, 1, "E flag")
            let iv = Reference.gcmRTCPIV(sessionSalt: rtcpSalt, ssrc: 0x4d61_7273, index: word & 0x7FFF_FFFF)
            let aad = Array(rtcp.prefix(8)) + Reference.be32(word)
            let expected = Array(rtcp.prefix(8))
                + Reference.gcmSeal(key: rtcpKey, iv: iv, aad: aad, plaintext: Array(rtcp.dropFirst(8)))
                + Reference.be32(word)
            XCTAssertEqual(packet, expected, "\(profile) SRTCP")
        }
    }

    /// The reverse: packets sealed by the reference are accepted by
    /// libsrtp's inbound side and decrypt to their plaintext.
    func testLibSRTPOpensReferenceAEAD() throws {
        for (profile, masterKey) in [(SRTPProtectionProfile.aeadAes128Gcm, key128), (.aeadAes256Gcm, key256)] {
            let masterSalt = salt
            func derive(_ label: Reference.Label, _ length: Int) -> [UInt8] {
                Reference.deriveSessionKey(masterKey: masterKey, masterSalt: masterSalt, label: label, length: length)
            }
            let context = try SRTPContext(profile: profile, outboundKey: masterKey, outboundSalt: masterSalt,
                                          inboundKey: masterKey, inboundSalt: masterSalt)
            let header = Array(rtpPlain.prefix(12)), payload = Array(rtpPlain.dropFirst(12))
            let iv = Reference.gcmRTPIV(sessionSalt: derive(.rtpSalt, 12), ssrc: 0x5501_a0b2, roc: 0, sequence: 0xf17b)
            var packet = header + Reference.gcmSeal(key: derive(.rtpEncryption, masterKey.count), iv: iv,
                                                    aad: header, plaintext: payload)
            try context.unprotectRTP(&packet)
            XCTAssertEqual(packet, rtpPlain, "\(profile)")

            let eIndex = hex("800005d4")
            let rtcpIV = Reference.gcmRTCPIV(sessionSalt: derive(.rtcpSalt, 12), ssrc: 0x4d61_7273, index: 0x5d4)
            var srtcp = Array(rtcpPlain.prefix(8))
                + Reference.gcmSeal(key: derive(.rtcpEncryption, masterKey.count), iv: rtcpIV,
                                    aad: Array(rtcpPlain.prefix(8)) + eIndex, plaintext: Array(rtcpPlain.dropFirst(8)))
                + eIndex
            try context.unprotectRTCP(&srtcp)
            XCTAssertEqual(srtcp, rtcpPlain, "\(profile) SRTCP")
        }
    }
}
