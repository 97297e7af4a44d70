import DTLS
import RTP
import SDP
import SRTP
import STUN
import Wire

/// A Cohort participant in the client role, sans-IO: the same STUN, DTLS,
/// SRTP, RTP and SDP code as the server, driven from the other side. Used by
/// the engine tests and by the load test.
///
/// It offers, takes the answer, sends ICE checks with USE-CANDIDATE (RFC
/// 8445 §7.2.2) until one succeeds and then one every `consentInterval` (RFC
/// 7675), runs the DTLS client, and protects and unprotects media.
public final class ClientParticipant {
    /// Errors from setting up the client.
    public enum ClientError: Error, Equatable {
        /// The answer could not be used; the text says why.
        case badAnswer(String)
        /// DTLS or SRTP could not be set up.
        case setupFailed(String)
    }

    /// Something that happened.
    public enum Event: Equatable {
        /// ICE succeeded (first success response).
        case iceConnected
        /// DTLS-SRTP is up: media can flow.
        case connected
        /// DTLS failed.
        case failed(String)
        /// An RTP packet arrived on the slot with this SSRC; `header` indexes `packet`.
        case rtp(ssrc: UInt32, header: RTPHeader, packet: [UInt8])
        /// RTCP arrived (decrypted).
        case rtcp([UInt8])
    }

    /// The offer to send.
    public let offer: ClientOffer
    /// Where the server's media socket is (from the answer's candidate).
    public private(set) var server: StunAddress?
    /// The mid of the slot each server SSRC belongs to (from the answer).
    public private(set) var midBySSRC: [UInt32: String] = [:]
    /// How often to refresh consent once connected.
    public var consentInterval = TimeSpan.seconds(2)
    /// Whether the client still sends consent checks (a "vanishing" client stops).
    public var sendsConsent = true

    private let certificate: DTLSCertificate
    private var remoteUfrag = ""
    private var remotePassword = ""
    private var dtls: DTLSEndpoint?
    private var dtlsServerRole = false
    private var srtp: SRTPContext?
    private var iceDone = false
    private var nextCheck: Instant?
    private var pendingTransaction: StunTransactionID?
    private var random = SystemRandomNumberGenerator()
    private var outgoing: [[UInt8]] = []
    private var events: [Event] = []
    private var sequence: [UInt32: UInt16] = [:]
    private let tieBreaker: UInt64

    /// Creates a client with fresh credentials.
    public init(publishAudio: Bool, publishVideo: Bool, slots: Int, certificate: DTLSCertificate) {
        self.certificate = certificate
        var r = SystemRandomNumberGenerator()
        offer = ClientOffer(ufrag: IceCredential.random(length: 8, using: &r),
                            password: IceCredential.random(length: 24, using: &r), fingerprint: certificate.fingerprint,
                            audioSSRC: publishAudio ? UInt32.random(in: 1...UInt32.max, using: &r) : nil,
                            videoSSRC: publishVideo ? UInt32.random(in: 1...UInt32.max, using: &r) : nil,
                            slots: slots)
        tieBreaker = UInt64.random(in: 0...UInt64.max, using: &r)
    }

    /// Takes the server's answer and starts ICE at `now`.
    public func accept(answer: String, now: Instant) throws(ClientError) {
        let sdp: SessionDescription
        do { sdp = try SessionDescription.parse(answer) } catch { throw .badAnswer("\(error)") }
        guard let first = sdp.mediaSections.first(where: { !$0.isRejected }),
              let ufrag = sdp.iceUfrag(for: first), let pwd = sdp.icePwd(for: first) else {
            throw .badAnswer("no ICE credentials")
        }
        guard let candidate = first.candidates.first(where: { $0.isUDP }),
              let address = StunAddress(candidate.address.contains(":") ? "[\(candidate.address)]:\(candidate.port)"
                                                                          : "\(candidate.address):\(candidate.port)") else {
            throw .badAnswer("no UDP candidate")
        }
        guard let fp = sdp.fingerprints(for: first).first,
              let fingerprint = try? DTLSFingerprint(sdp: fp.attributeValue) else {
            throw .badAnswer("no fingerprint")
        }
        remoteUfrag = ufrag
        remotePassword = pwd
        server = address
        dtlsServerRole = sdp.setup(for: first) == .active
        for m in sdp.mediaSections {
            for ssrc in m.ssrcs { if let mid = m.mid { midBySSRC[ssrc] = mid } }
        }
        do {
            dtls = try DTLSEndpoint(role: dtlsServerRole ? .server : .client, certificate: certificate,
                                    remoteFingerprint: fingerprint,
                                    profiles: SRTPProtectionProfile.serverPreference, now: now)
        } catch { throw .setupFailed("\(error)") }
        nextCheck = now
    }

    /// Datagrams to send to `server`, and events, since the last call.
    public func poll() -> (datagrams: [[UInt8]], events: [Event]) {
        defer { outgoing.removeAll(keepingCapacity: true); events.removeAll(keepingCapacity: true) }
        return (outgoing, events)
    }

    /// Whether DTLS-SRTP is up.
    public var isConnected: Bool { srtp != nil }

    /// Handles a datagram from the server.
    public func receive(_ datagram: [UInt8], now: Instant) {
        switch PacketClass.classify(datagram) {
        case .stun:
            guard let parsed = try? StunParsedMessage(parsing: datagram),
                  parsed.message.type.messageClass == .successResponse,
                  parsed.message.transactionID == pendingTransaction,
                  (try? parsed.checkIntegrity(key: StunIntegrity.shortTermKey(password: remotePassword))) != nil else { return }
            pendingTransaction = nil
            if !iceDone {
                iceDone = true
                events.append(.iceConnected)
                drainDTLS()  // a DTLS client's first flight waited for ICE
            }
        case .dtls:
            dtls?.receive(datagram, now: now)
            drainDTLS()
        case .rtp:
            guard let srtp else { return }
            var packet = datagram
            guard (try? srtp.unprotectRTP(&packet)) != nil, let header = try? RTPHeader(parsing: packet) else { return }
            events.append(.rtp(ssrc: header.ssrc, header: header, packet: packet))
        case .rtcp:
            guard let srtp else { return }
            var packet = datagram
            guard (try? srtp.unprotectRTCP(&packet)) != nil else { return }
            events.append(.rtcp(packet))
        case .unknown:
            return
        }
    }

    private func drainDTLS() {
        guard let dtls, iceDone else { return }
        while let output = dtls.poll() {
            switch output {
            case .transmit(let bytes): outgoing.append(bytes)
            case .event(.connected(let keys)):
                do {
                    srtp = try SRTPContext(keyingMaterial: keys, role: dtlsServerRole ? .dtlsServer : .dtlsClient)
                    events.append(.connected)
                } catch { events.append(.failed("SRTP: \(error)")) }
            case .event(.failed(let why)): events.append(.failed("\(why)"))
            case .event: break
            }
        }
    }

    /// Runs timers: ICE checks and consent, DTLS retransmissions.
    public func handleTimeout(now: Instant) {
        if let t = nextCheck, t <= now, sendsConsent, let _ = server {
            sendCheck()
            nextCheck = now + (iceDone ? consentInterval : .milliseconds(50))
        }
        if let dtls, let d = dtls.nextDeadline, d <= now {
            dtls.handleTimeout(now: now)
            drainDTLS()
        }
    }

    /// The next time `handleTimeout` must run.
    public var nextDeadline: Instant? {
        [nextCheck, iceDone ? dtls?.nextDeadline : nil].compactMap { $0 }.min()
    }

    private func sendCheck() {
        let id = StunTransactionID.random(using: &random)
        pendingTransaction = id
        let request = StunMessage(
            type: StunMessageType(method: .binding, messageClass: .request), transactionID: id,
            attributes: [.username("\(remoteUfrag):\(offer.ufrag)"), .priority(1_853_824_767),
                         .iceControlling(tieBreaker), .useCandidate])
        if let bytes = try? request.encode(password: remotePassword) { outgoing.append(bytes) }
    }

    /// Sends one RTP packet of our `ssrc` with `payload`; the sequence number
    /// counts up per SSRC. `extensions` go into a one-byte header extension.
    public func sendRTP(ssrc: UInt32, payloadType: UInt8, timestamp: UInt32, marker: Bool = false,
                        extensions: [RTPHeaderExtensionValue] = [], payload: [UInt8]) {
        guard let srtp else { return }
        let seq = sequence[ssrc, default: UInt16.random(in: 0...UInt16.max)]
        sequence[ssrc] = seq &+ 1
        var builder = RTPPacketBuilder(payloadType: payloadType, sequenceNumber: seq, timestamp: timestamp, ssrc: ssrc)
        builder.marker = marker
        builder.extensions = extensions
        guard var packet = try? builder.build(payload: payload) else { return }
        packet.reserveCapacity(packet.count + SRTPContext.maximumTrailerLength)
        guard (try? srtp.protectRTP(&packet)) != nil else { return }
        outgoing.append(packet)
    }

    /// Sends an RTCP compound (e.g. a PLI for a slot).
    public func sendRTCP(_ packets: [any RTCPPacketWritable]) {
        guard let srtp else { return }
        var out = RTCPCompound.build(packets)
        guard (try? srtp.protectRTCP(&out)) != nil else { return }
        outgoing.append(out)
    }
}
