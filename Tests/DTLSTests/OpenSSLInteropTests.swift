import DTLS
import Foundation
import Wire
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Our endpoint against the `openssl` command line tool over real UDP on
/// loopback: the keying material each side exports must be identical.
final class OpenSSLInteropTests: XCTestCase {
    /// A UDP socket on 127.0.0.1 for the test's own little event loop.
    final class LoopbackSocket {
        let fd: Int32
        var peer = sockaddr_in()
        var hasPeer = false

        init(connectTo port: UInt16? = nil) throws {
            fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            guard fd >= 0 else { throw POSIXError(.EBADF) }
            var address = Self.loopback(port: 0)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
            if let port {
                peer = Self.loopback(port: port)
                hasPeer = true
            }
        }

        deinit { close(fd) }

        static func loopback(port: UInt16) -> sockaddr_in {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            return address
        }

        var port: UInt16 {
            var address = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            return UInt16(bigEndian: address.sin_port)
        }

        /// One datagram, waiting at most `milliseconds`.
        func receive(milliseconds: Int32) -> [UInt8]? {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, milliseconds) == 1 else { return nil }
            var buffer = [UInt8](repeating: 0, count: 65_536)
            var from = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let n = withUnsafeMutablePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buffer, buffer.count, 0, $0, &length) }
            }
            guard n > 0 else { return nil }
            peer = from
            hasPeer = true
            return Array(buffer[0..<n])
        }

        func send(_ bytes: [UInt8]) {
            guard hasPeer else { return }
            _ = withUnsafePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }

    /// Collects a child's stdout from a background handler.
    final class OutputBuffer: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()
        func append(_ chunk: Data) { lock.lock(); data.append(chunk); lock.unlock() }
        var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data, as: UTF8.self) }
    }

    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("cohort-dtls-interop-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: directory)
    }

    private func writeIdentity(_ certificate: DTLSCertificate) throws -> (cert: String, key: String) {
        let cert = directory.appendingPathComponent("peer-cert.pem").path
        let key = directory.appendingPathComponent("peer-key.pem").path
        try certificate.certificatePEM.write(toFile: cert, atomically: true, encoding: .utf8)
        try certificate.privateKeyPEM.write(toFile: key, atomically: true, encoding: .utf8)
        return (cert, key)
    }

    private func monotonicNow() -> Instant { Instant(nanoseconds: DispatchTime.now().uptimeNanoseconds) }

    /// Runs `endpoint` on `socket` against the openssl process until both have
    /// exported keys, or five seconds pass. Returns (ours, openssl's hex, its profile name).
    private func drive(_ endpoint: DTLSEndpoint, on socket: LoopbackSocket, arguments: [String]) throws
        -> (SRTPKeyingMaterial?, String?, String?, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let stdin = Pipe(), stdout = Pipe()
        let output = OutputBuffer()
        process.standardInput = stdin       // stays open: s_client quits on EOF
        process.standardOutput = stdout
        process.standardError = stdout
        stdout.fileHandleForReading.readabilityHandler = { output.append($0.availableData) }
        try process.run()
        defer {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            stdout.fileHandleForReading.readabilityHandler = nil
            try? stdin.fileHandleForWriting.close()
        }
        let giveUp = monotonicNow() + .seconds(5)
        var keys: SRTPKeyingMaterial?
        var material: String?
        var profile: String?
        while monotonicNow() < giveUp {
            while let out = endpoint.poll() {
                switch out {
                case .transmit(let bytes): socket.send(bytes)
                case .event(.connected(let k)): keys = k
                case .event(let other): XCTFail("unexpected \(other)\n\(output.text)")
                }
            }
            if let datagram = socket.receive(milliseconds: 20) {
                endpoint.receive(datagram, now: monotonicNow())
            }
            if let deadline = endpoint.nextDeadline, monotonicNow() >= deadline {
                endpoint.handleTimeout(now: monotonicNow())
            }
            let text = output.text
            material = Self.capture(after: "Keying material: ", in: text)
            profile = Self.capture(after: "SRTP Extension negotiated, profile=", in: text)
            if keys != nil, material != nil, profile != nil { break }
            if endpoint.state != .handshaking && endpoint.state != .connected { break }
        }
        return (keys, material, profile, output.text)
    }

    private static func capture(after marker: String, in text: String) -> String? {
        guard let range = text.range(of: marker) else { return nil }
        let rest = text[range.upperBound...]
        guard let end = rest.firstIndex(of: "\n") else { return nil }
        return String(rest[..<end]).trimmingCharacters(in: .whitespaces)
    }

    private let profileList = "SRTP_AEAD_AES_128_GCM:SRTP_AEAD_AES_256_GCM:SRTP_AES128_CM_SHA1_80"

    func testOurServerAgainstOpenSSLClient() throws {
        let peerIdentity = try DTLSCertificate()
        let files = try writeIdentity(peerIdentity)
        let socket = try LoopbackSocket()
        let server = try DTLSEndpoint(role: .server, certificate: TestCertificates.server,
                                      remoteFingerprint: peerIdentity.fingerprint, now: monotonicNow())
        // GCM-256 by our preference although the client lists GCM-128 first: 2 * (32 + 12) bytes.
        let (keys, hex, profile, log) = try drive(server, on: socket, arguments: [
            "s_client", "-dtls1_2", "-connect", "127.0.0.1:\(socket.port)", "-use_srtp", profileList,
            "-keymatexport", "EXTRACTOR-dtls_srtp", "-keymatexportlen", "88",
            "-cert", files.cert, "-key", files.key, "-mtu", "1200",
        ])
        let ours = try XCTUnwrap(keys, log)
        XCTAssertEqual(profile, "SRTP_AEAD_AES_256_GCM", log)
        XCTAssertEqual(ours.profile, .aeadAes256Gcm)
        let theirs = try XCTUnwrap(hex.flatMap(Hex.decode).flatMap { SRTPKeyingMaterial(profile: .aeadAes256Gcm, exported: $0) }, log)
        XCTAssertEqual(ours, theirs)
    }

    func testOurClientAgainstOpenSSLServer() throws {
        let peerIdentity = try DTLSCertificate()
        let files = try writeIdentity(peerIdentity)
        let port = try LoopbackSocket().port  // a free port for s_server
        let socket = try LoopbackSocket(connectTo: port)
        let (keys, hex, profile, log) = try drive(
            try DTLSEndpoint(role: .client, certificate: TestCertificates.client,
                             remoteFingerprint: peerIdentity.fingerprint(.sha512)!,
                             profiles: [.aeadAes128Gcm, .aes128CmHmacSha1_80], now: monotonicNow()),
            on: socket, arguments: [  // the first ClientHello may beat s_server to its port; retransmission covers it
                "s_server", "-dtls1_2", "-accept", "127.0.0.1:\(port)", "-use_srtp", profileList,
                "-keymatexport", "EXTRACTOR-dtls_srtp", "-keymatexportlen", "56",
                "-cert", files.cert, "-key", files.key, "-verify", "1", "-mtu", "1200",
            ])
        let ours = try XCTUnwrap(keys, log)
        XCTAssertEqual(profile, "SRTP_AEAD_AES_128_GCM", log)
        XCTAssertEqual(ours.profile, .aeadAes128Gcm)
        let theirs = try XCTUnwrap(hex.flatMap(Hex.decode).flatMap { SRTPKeyingMaterial(profile: .aeadAes128Gcm, exported: $0) }, log)
        XCTAssertEqual(ours, theirs)
    }
}
