import Wire

/// Fuzz entry point: feeds arbitrary bytes to a fresh server endpoint.
/// Must never trap, whatever `data` holds.
public enum DTLSFuzz {
    private static let certificate = try? DTLSCertificate()
    private static let peer = DTLSFingerprint(algorithm: .sha256, bytes: [UInt8](repeating: 0, count: 32))

    /// Sends `data` as one datagram, then again split into datagrams whose
    /// lengths come from the data itself (first byte of each chunk), then runs
    /// the timers to the end of the handshake deadline.
    public static func run(_ data: [UInt8]) {
        guard let certificate,
              let endpoint = try? DTLSEndpoint(role: .server, certificate: certificate,
                                               remoteFingerprint: peer, now: .zero) else { return }
        var now = Instant.milliseconds(1)
        endpoint.receive(data, now: now)
        var offset = 0
        while offset < data.count {
            let length = Int(data[offset]) * 8 + 1
            let end = min(data.count, offset + 1 + length)
            endpoint.receive(Array(data[min(offset + 1, end)..<end]), now: now)
            offset = end
            now = now + .milliseconds(1)
        }
        while let deadline = endpoint.nextDeadline {
            endpoint.handleTimeout(now: deadline)
            while endpoint.poll() != nil {}
        }
        while endpoint.poll() != nil {}
    }
}
