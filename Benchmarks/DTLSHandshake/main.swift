// Handshakes per second: a DTLS client and server in one process, datagrams
// passed directly between them, on a virtual clock. Release mode only:
//   Scripts/bench-dtls.sh
//
// The reference measured in the same run is the cost of the public-key work
// alone (one ECDSA P-256 key generation per side, which is what each
// handshake's ECDHE costs), so the ratio shows what the engine adds.
import DTLS
import Foundation
import Wire

func handshake(client clientCertificate: DTLSCertificate, server serverCertificate: DTLSCertificate) -> Bool {
    var now = Instant.milliseconds(1)
    guard let client = try? DTLSEndpoint(role: .client, certificate: clientCertificate,
                                         remoteFingerprint: serverCertificate.fingerprint, now: now),
          let server = try? DTLSEndpoint(role: .server, certificate: serverCertificate,
                                         remoteFingerprint: clientCertificate.fingerprint, now: now) else { return false }
    for _ in 0..<20 {
        var moved = false
        while let out = client.poll() {
            if case .transmit(let bytes) = out { server.receive(bytes, now: now); moved = true }
        }
        while let out = server.poll() {
            if case .transmit(let bytes) = out { client.receive(bytes, now: now); moved = true }
        }
        if client.state == .connected && server.state == .connected { return client.keyingMaterial == server.keyingMaterial }
        if !moved { now = now + .milliseconds(1) }
    }
    return false
}

func measure(_ label: String, seconds: Double, _ body: () -> Bool) -> Double {
    let start = Date()
    var count = 0
    while Date().timeIntervalSince(start) < seconds {
        precondition(body(), "\(label) failed")
        count += 1
    }
    return Double(count) / Date().timeIntervalSince(start)
}

let clientCertificate = try DTLSCertificate()
let serverCertificate = try DTLSCertificate()
_ = measure("warm-up", seconds: 0.5) { handshake(client: clientCertificate, server: serverCertificate) }
let handshakes = measure("handshake", seconds: 3) { handshake(client: clientCertificate, server: serverCertificate) }
let keyPairs = measure("certificate", seconds: 2) { (try? DTLSCertificate()) != nil }
print(String(format: "DTLS 1.2 handshakes (client+server, ECDSA P-256, in-process): %.0f /s", handshakes))
print(String(format: "reference: self-signed certificate generations: %.0f /s", keyPairs))
print(String(format: "ratio handshake / certificate generation: %.3f", handshakes / keyPairs))
