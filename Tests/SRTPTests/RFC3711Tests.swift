import SRTP
import Wire
import XCTest

/// RFC 3711 Appendix B test vectors, and libsrtp's AES-CM output checked
/// against an independent computation from the RFC's definitions.
///
/// libsrtp does not expose its keystream or session keys, so the chain is:
/// B.2 pins our reference AES-CM (OpenSSL AES-CTR plus the §4.1.1 IV), B.3
/// pins our reference KDF, and then libsrtp's protected packets must equal
/// what the pinned reference computes from B.3's master key.
final class RFC3711Tests: XCTestCase {
    // B.3 inputs and outputs.
    let masterKey = hex("E1F97A0D3E018BE0D64FA32C06DE4139")
    let masterSalt = hex("0EC675AD498AFEEBB6960B3AABE6")
    let cipherKey = hex("C61E7A93744F39EE10734AFE3FF7A087")
    let cipherSalt = hex("30CBBC08863D8C85D49DB34A9AE1")
    let authKey = hex("""
        CEBE321F6FF7716B6FD4AB49AF256A15 6D38BAA48F0A0ACF3C34E2359E6CDBCE
        E049646C43D9327AD175578EF7227098 6371C10C9A369AC2F94A8C5FBCDDDC25
        6D6E919A48B610EF17C2041E47403576 6B68642C59BBFC2F34DB60DBDFB2
        """)

    /// B.2: the AES-CM keystream segment for session key 2B7E..., salt
    /// F0F1...FCFD, SSRC 0, index 0: its first and last three blocks.
    func testB2AESCMKeystream() {
        let sessionKey = hex("2B7E151628AED2A6ABF7158809CF4F3C")
        let sessionSalt = hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD")
        let iv = Reference.aesCMIV(sessionSalt: sessionSalt, ssrc: 0, index: 0)
        XCTAssertEqual(iv, hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000"), "§4.1.1 IV with SSRC 0, index 0")

        // 1044512 octets = 65282 blocks, counters ...0000 through ...FF01.
        let keystream = Reference.aesCTRKeystream(key: sessionKey, iv: iv, length: 1_044_512)
        XCTAssertEqual(Array(keystream.prefix(48)), hex("""
            E03EAD0935C95E80E166B16DD92B4EB4
            D23513162B02D0F72A43A2FE4A5F97AB
            41E95B3BB0A2E8DD477901E4FCA894C0
            """))
        XCTAssertEqual(Array(keystream.suffix(48)), hex("""
            EC8CDF7398607CB0F2D21675EA9EA1E4
            362B7C3C6773516318A077D7FC5073AE
            6A2CC3787889374FBEB4C81B17BA6C44
            """))
    }

    /// B.3: cipher key, cipher salt and the 94 octets of auth key
    /// keystream derived from the master key and salt.
    func testB3KeyDerivation() {
        XCTAssertEqual(Reference.deriveSessionKey(masterKey: masterKey, masterSalt: masterSalt,
                                                  label: .rtpEncryption, length: 16), cipherKey)
        XCTAssertEqual(Reference.deriveSessionKey(masterKey: masterKey, masterSalt: masterSalt,
                                                  label: .rtpSalt, length: 14), cipherSalt)
        XCTAssertEqual(Reference.deriveSessionKey(masterKey: masterKey, masterSalt: masterSalt,
                                                  label: .rtpAuthentication, length: 94), authKey)
    }

    /// libsrtp keyed with B.3's master key encrypts with B.3's session keys:
    /// ciphertext XOR plaintext is the §4.1.1 keystream for the packet's
    /// SSRC and index, and the tag is HMAC-SHA1 over header, ciphertext and
    /// ROC (§4.2), truncated to 80 or 32 bits. Packets straddle a sequence
    /// wrap so the ROC in both IV and tag must become 1.
    func testLibSRTPMatchesAESCMAndHMACFromB3Keys() throws {
        for profile in [SRTPProtectionProfile.aes128CmHmacSha1_80, .aes128CmHmacSha1_32] {
            let context = try SRTPContext(profile: profile, outboundKey: masterKey, outboundSalt: masterSalt,
                                          inboundKey: masterKey, inboundSalt: masterSalt)
            let ssrc: UInt32 = 0xDECA_FBAD
            let plainPayload = TestPacket.payload(160)
            for (sequence, roc) in [(UInt16(65_534), UInt32(0)), (65_535, 0), (0, 1), (1, 1)] {
                let plain = TestPacket.rtp(ssrc: ssrc, sequence: sequence, payload: plainPayload)
                var packet = plain
                try context.protectRTP(&packet)
                XCTAssertEqual(packet.count, plain.count + profile.rtpTagLength)
                XCTAssertEqual(Array(packet.prefix(12)), Array(plain.prefix(12)), "header stays clear")

                let index = UInt64(roc) << 16 | UInt64(sequence)
                let keystream = Reference.aesCTRKeystream(
                    key: cipherKey, iv: Reference.aesCMIV(sessionSalt: cipherSalt, ssrc: ssrc, index: index),
                    length: plainPayload.count)
                let ciphertext = Array(packet[12..<plain.count])
                XCTAssertEqual(Reference.xor(ciphertext, plainPayload), keystream, "\(profile) seq \(sequence)")

                let authenticated = Array(packet[0..<plain.count]) + Reference.be32(roc)
                let tag = Reference.hmacSHA1(key: Array(authKey.prefix(20)), authenticated)
                XCTAssertEqual(Array(packet[plain.count...]), Array(tag.prefix(profile.rtpTagLength)),
                               "\(profile) seq \(sequence)")
            }
        }
    }

    /// SRTCP (§3.4, §4.3.2): libsrtp's packet is header || AES-CM
    /// ciphertext || E|index || HMAC-SHA1 tag (80 bits for both profiles,
    /// RFC 5764 §4.1.2), with keys derived under labels 3, 4 and 5.
    func testLibSRTPMatchesSRTCPFromDerivedKeys() throws {
        let rtcpKey = Reference.deriveSessionKey(masterKey: masterKey, masterSalt: masterSalt,
                                                 label: .rtcpEncryption, length: 16)
        let rtcpSalt = Reference.deriveSessionKey(masterKey: masterKey, masterSalt: masterSalt,
                                                  label: .rtcpSalt, length: 14)
        let rtcpAuth = Reference.deriveSessionKey(masterKey: masterKey, masterSalt: masterSalt,
                                                  label: .rtcpAuthentication, length: 20)
        for profile in [SRTPProtectionProfile.aes128CmHmacSha1_80, .aes128CmHmacSha1_32] {
            let context = try SRTPContext(profile: profile, outboundKey: masterKey, outboundSalt: masterSalt,
                                          inboundKey: masterKey, inboundSalt: masterSalt)
            let ssrc: UInt32 = 0x4D61_7273
            var previousIndex: UInt32?
            for _ in 0..<3 {
                let plain = TestPacket.rtcp(ssrc: ssrc)
                var packet = plain
                try context.protectRTCP(&packet)
                XCTAssertEqual(packet.count, plain.count + 4 + 10)

                let word = packet.readUInt32(at: plain.count)
                XCTAssertEqual(word >> 31, 1, "E flag: encrypted")
                let index = word & 0x7FFF_FFFF
                if let previousIndex { XCTAssertEqual(index, previousIndex + 1, "SRTCP index counts up") }
                previousIndex = index

                let keystream = Reference.aesCTRKeystream(
                    key: rtcpKey, iv: Reference.aesCMIV(sessionSalt: rtcpSalt, ssrc: ssrc, index: UInt64(index)),
                    length: plain.count - 8)
                XCTAssertEqual(Reference.xor(Array(packet[8..<plain.count]), Array(plain[8...])), keystream)
                let tag = Reference.hmacSHA1(key: rtcpAuth, Array(packet[0..<(plain.count + 4)]))
                XCTAssertEqual(Array(packet[(plain.count + 4)...]), Array(tag.prefix(10)))
            }
        }
    }

    /// The reverse direction: a packet built by the reference from B.3's
    /// keys is accepted by libsrtp and decrypts to its plaintext.
    func testLibSRTPUnprotectsReferencePacket() throws {
        let context = try SRTPContext(profile: .aes128CmHmacSha1_80, outboundKey: masterKey, outboundSalt: masterSalt,
                                      inboundKey: masterKey, inboundSalt: masterSalt)
        let ssrc: UInt32 = 0x0102_0304
        let payload = TestPacket.payload(100, seed: 9)
        let plain = TestPacket.rtp(ssrc: ssrc, sequence: 4242, payload: payload)
        let keystream = Reference.aesCTRKeystream(
            key: cipherKey, iv: Reference.aesCMIV(sessionSalt: cipherSalt, ssrc: ssrc, index: 4242), length: 100)
        var packet = Array(plain.prefix(12)) + Reference.xor(payload, keystream)
        packet += Reference.hmacSHA1(key: Array(authKey.prefix(20)), packet + [0, 0, 0, 0]).prefix(10)
        try context.unprotectRTP(&packet)
        XCTAssertEqual(packet, plain)
    }
}
