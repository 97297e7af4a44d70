import XCTest

/// RFC 6188 §7: the AES_192_CM_PRF and AES_256_CM_PRF key derivation test
/// cases, checked with the same reference KDF that RFC 3711 B.3 pins (its
/// §3 defines them as RFC 3711's KDF with a longer master key). Cohort's
/// AEAD_AES_256_GCM profile derives its session keys with AES_256_CM_PRF
/// (RFC 7714 §11), which RFC7714Tests checks against libsrtp.
final class RFC6188Tests: XCTestCase {
    struct Case {
        let masterKey: [UInt8], masterSalt: [UInt8]
        let cipherKey: [UInt8], cipherSalt: [UInt8], authKey: [UInt8]
    }

    /// §7.2, AES_256_CM_PRF.
    let aes256 = Case(
        masterKey: hex("f0f04914b513f2763a1b1fa130f10e29 98f6f6e43e4309d1e622a0e332b9f1b6"),
        masterSalt: hex("3b04803de51ee7c96423ab5b78d2"),
        cipherKey: hex("5ba1064e30ec51613cad926c5a28ef73 1ec7fb397f70a960653caf06554cd8c4"),
        cipherSalt: hex("fa31791685ca444a9e07c6c64e93"),
        authKey: hex("fd9c32d39ed5fbb5a9dc96b30818454d1313dc05"))

    /// §7.4, AES_192_CM_PRF.
    let aes192 = Case(
        masterKey: hex("73edc66c4fa15776fb57f9505c17136550ffda71f3e8e5f1"),
        masterSalt: hex("c8522f3acd4ce86d5add78edbb11"),
        cipherKey: hex("31874736a8f1143870c26e4857d8a5b2c4a354407faadabb"),
        cipherSalt: hex("2372b82d639b6d8503a47adc0a6c"),
        authKey: hex("355b10973cd95b9eacf4061c7e1a7151e7cfbfcb"))

    func testAES256KeyDerivation() { check(aes256) }

    func testAES192KeyDerivation() { check(aes192) }

    private func check(_ c: Case, file: StaticString = #filePath, line: UInt = #line) {
        func derive(_ label: Reference.Label, _ length: Int) -> [UInt8] {
            Reference.deriveSessionKey(masterKey: c.masterKey, masterSalt: c.masterSalt, label: label, length: length)
        }
        XCTAssertEqual(derive(.rtpEncryption, c.cipherKey.count), c.cipherKey, "cipher key", file: file, line: line)
        XCTAssertEqual(derive(.rtpSalt, 14), c.cipherSalt, "cipher salt", file: file, line: line)
        XCTAssertEqual(derive(.rtpAuthentication, 20), c.authKey, "auth key", file: file, line: line)
    }
}
