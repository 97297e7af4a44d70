import DTLS
import Foundation
import Wire
import XCTest

final class DTLSFingerprintTests: XCTestCase {
    func testParsesSDPFormAndWritesItBack() throws {
        let text = "sha-256 " + (0..<32).map { String(format: "%02X", $0) }.joined(separator: ":")
        let fingerprint = try DTLSFingerprint(sdp: text)
        XCTAssertEqual(fingerprint.algorithm, .sha256)
        XCTAssertEqual(fingerprint.bytes, Array(0..<32))
        XCTAssertEqual(fingerprint.sdpValue, text)
        XCTAssertEqual(try DTLSFingerprint(sdp: "SHA-256 " + text.dropFirst(8).lowercased()), fingerprint)
    }

    func testRejectsMalformedFingerprints() {
        let good = (0..<32).map { String(format: "%02X", $0) }.joined(separator: ":")
        for bad in ["", "sha-256", "sha-1 " + good, "md5 " + good, "sha-384 " + good,
                    "sha-256 " + good.dropLast(3), "sha-256 " + good + ":00", "sha-256 " + good.replacingOccurrences(of: ":", with: ""),
                    "sha-256 " + good.replacingOccurrences(of: "0A", with: "0G"), "sha-256 " + good + " extra",
                    "sha-256 " + "A:BC" + good.dropFirst(5)] {
            XCTAssertThrowsError(try DTLSFingerprint(sdp: bad), bad) {
                XCTAssertEqual($0 as? DTLSError, .invalidFingerprint(bad))
            }
        }
    }

    func testCertificateFingerprintsHaveTheirDigestLengths() throws {
        let certificate = TestCertificates.server
        XCTAssertEqual(certificate.fingerprint.bytes.count, 32)
        XCTAssertEqual(certificate.fingerprint(.sha384)?.bytes.count, 48)
        XCTAssertEqual(certificate.fingerprint(.sha512)?.bytes.count, 64)
        XCTAssertEqual(certificate.fingerprint(.sha256), certificate.fingerprint)
        XCTAssertEqual(try DTLSFingerprint(sdp: certificate.fingerprint.sdpValue), certificate.fingerprint)
    }
}
