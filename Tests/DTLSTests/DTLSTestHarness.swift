import CohortTestSupport
import DTLS
import Wire
import XCTest

/// Certificates shared by the tests (generation costs a few milliseconds).
enum TestCertificates {
    static let client = try! DTLSCertificate()
    static let server = try! DTLSCertificate()
    static let stranger = try! DTLSCertificate()
}

/// Two endpoints on a `VirtualNetwork`, driven in lockstep by a `ManualClock`.
final class DTLSPair {
    let clock = ManualClock()
    var network: VirtualNetwork
    let client: DTLSEndpoint
    let server: DTLSEndpoint
    private(set) var clientEvents: [DTLSEvent] = []
    private(set) var serverEvents: [DTLSEvent] = []
    private(set) var largestDatagram = 0
    private(set) var datagramsSent = 0
    /// Called for each datagram after it entered the network; may inject more behind it.
    var tamper: ((_ from: String, _ bytes: [UInt8], _ pair: DTLSPair) -> Void)?

    init(conditions: VirtualNetwork.Conditions = .init(), seed: UInt64 = 1,
         clientProfiles: [SRTPProtectionProfile] = SRTPProtectionProfile.serverPreference,
         serverProfiles: [SRTPProtectionProfile] = SRTPProtectionProfile.serverPreference,
         clientExpects: DTLSFingerprint = TestCertificates.server.fingerprint,
         serverExpects: DTLSFingerprint = TestCertificates.client.fingerprint,
         configuration: DTLSConfiguration = DTLSConfiguration()) throws {
        network = VirtualNetwork(conditions: conditions, seed: seed)
        server = try DTLSEndpoint(role: .server, certificate: TestCertificates.server, remoteFingerprint: serverExpects,
                                  profiles: serverProfiles, now: clock.now, configuration: configuration)
        client = try DTLSEndpoint(role: .client, certificate: TestCertificates.client, remoteFingerprint: clientExpects,
                                  profiles: clientProfiles, now: clock.now, configuration: configuration)
    }

    func endpoint(_ name: String) -> DTLSEndpoint { name == "client" ? client : server }

    /// Moves every output of both endpoints into the network or the event logs.
    func flush() {
        for (name, endpoint) in [("client", client), ("server", server)] {
            while let output = endpoint.poll() {
                switch output {
                case .transmit(let bytes):
                    largestDatagram = max(largestDatagram, bytes.count)
                    datagramsSent += 1
                    network.send(bytes, from: name, to: name == "client" ? "server" : "client", now: clock.now)
                    tamper?(name, bytes, self)
                case .event(let event):
                    if name == "client" { clientEvents.append(event) } else { serverEvents.append(event) }
                }
            }
        }
    }

    /// Injects `bytes` as if `from` had sent them.
    func inject(_ bytes: [UInt8], from: String) {
        network.send(bytes, from: from, to: from == "client" ? "server" : "client", now: clock.now)
    }

    /// Runs until both sides leave the handshake (or `limit` of virtual time).
    /// `deliver` filters which datagrams arrive (to stop a peer mid-handshake).
    func run(limit: TimeSpan = .seconds(30), deliver: (VirtualNetwork.Datagram) -> Bool = { _ in true }) {
        let end = clock.now + limit
        flush()
        while clock.now < end {
            if client.state != .handshaking && server.state != .handshaking { break }
            let candidates = [network.nextArrival, client.nextDeadline, server.nextDeadline].compactMap { $0 }
            guard let next = candidates.min() else { break }
            clock.advance(to: next)
            for datagram in network.deliver(upTo: clock.now) where deliver(datagram) {
                endpoint(datagram.to).receive(datagram.bytes, now: clock.now)
                flush()
            }
            client.handleTimeout(now: clock.now)
            server.handleTimeout(now: clock.now)
            flush()
        }
    }

    var clientKeys: SRTPKeyingMaterial? { Self.keys(in: clientEvents) }
    var serverKeys: SRTPKeyingMaterial? { Self.keys(in: serverEvents) }

    static func keys(in events: [DTLSEvent]) -> SRTPKeyingMaterial? {
        for case .connected(let keys) in events { return keys }
        return nil
    }

    static func failure(in events: [DTLSEvent]) -> DTLSFailure? {
        for case .failed(let reason) in events { return reason }
        return nil
    }
}
