import DTLS
import Foundation
import XCTest

final class DTLSCertificateTests: XCTestCase {
    private func openssl(_ arguments: [String], input: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    func testGeneratedCertificateIsSelfSignedP256WithCohortName() throws {
        let certificate = try DTLSCertificate()
        let text = try openssl(["x509", "-noout", "-text"], input: certificate.certificatePEM)
        XCTAssertTrue(text.contains("Subject: CN = cohort"), text)
        XCTAssertTrue(text.contains("Issuer: CN = cohort"))
        XCTAssertTrue(text.contains("ASN1 OID: prime256v1"))
        XCTAssertTrue(text.contains("ecdsa-with-SHA256"))
        let fingerprint = try openssl(["x509", "-noout", "-fingerprint", "-sha256"], input: certificate.certificatePEM)
        XCTAssertEqual(fingerprint.trimmingCharacters(in: .whitespacesAndNewlines),
                       "sha256 Fingerprint=" + certificate.fingerprint.sdpValue.dropFirst(8))
        let dates = try openssl(["x509", "-noout", "-checkend", String(29 * 86_400)], input: certificate.certificatePEM)
        XCTAssertTrue(dates.contains("will not expire"), dates)
        let expiry = try openssl(["x509", "-noout", "-checkend", String(31 * 86_400)], input: certificate.certificatePEM)
        XCTAssertTrue(expiry.contains("will expire"), expiry)
    }

    func testSerialsAndKeysDifferBetweenCertificates() throws {
        let a = try DTLSCertificate(), b = try DTLSCertificate()
        XCTAssertNotEqual(a.fingerprint, b.fingerprint)
        let serialA = try openssl(["x509", "-noout", "-serial"], input: a.certificatePEM)
        let serialB = try openssl(["x509", "-noout", "-serial"], input: b.certificatePEM)
        XCTAssertNotEqual(serialA, serialB)
    }

    func testLoadsFromPEMFiles() throws {
        let original = try DTLSCertificate()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cohort-dtls-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let certPath = directory.appendingPathComponent("cert.pem").path
        let keyPath = directory.appendingPathComponent("key.pem").path
        try original.certificatePEM.write(toFile: certPath, atomically: true, encoding: .utf8)
        try original.privateKeyPEM.write(toFile: keyPath, atomically: true, encoding: .utf8)
        let loaded = try DTLSCertificate(certificatePEMPath: certPath, privateKeyPEMPath: keyPath)
        XCTAssertEqual(loaded.fingerprint, original.fingerprint)

        XCTAssertThrowsError(try DTLSCertificate(certificatePEMPath: directory.path + "/missing.pem", privateKeyPEMPath: keyPath))
        let otherKey = directory.appendingPathComponent("other.pem").path
        try DTLSCertificate().privateKeyPEM.write(toFile: otherKey, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try DTLSCertificate(certificatePEMPath: certPath, privateKeyPEMPath: otherKey)) {
            guard case .certificateFile? = $0 as? DTLSError else { return XCTFail("\($0)") }
        }
    }
}
