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
/// 7675), answers the server's own checks (a full agent answers in either
/// role, RFC 8445 §7.3; the server checks a new source address before it
/// sends media there), runs the DTLS client, and protects and unprotects media.
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
    public private(set) var offer: ClientOffer
    /// Where the server's media socket is (from the answer's candidate).
    public private(set) var server: StunAddress?
    /// The mid of the slot each server SSRC belongs to (from the answer).
    public private(set) var midBySSRC: [UInt32: String] = [:]
    /// For each retransmission SSRC in the answer (RFC 4588 FID group), the slot SSRC it repairs.
    public private(set) var primaryOfRTX: [UInt32: UInt32] = [:]
    /// How often to refresh consent once connected.
    public var consentInterval = TimeSpan.seconds(2)
    /// Whether the client still sends consent checks (a "vanishing" client stops).
    public var sendsConsent = true
    /// Whether consent checks carry USE-CANDIDATE too (browsers' do; aiortc's do not).
    public var nominatesInConsentChecks = true
    /// Retransmissions sent in answer to the server's NACKs (`lossRepair` only).
    public private(set) var retransmissionsSent = 0
    /// NACKs received from the server for our video.
    public private(set) var nacksReceived = 0
    /// Binding requests from the server answered (its return-routability checks).
    public private(set) var checksAnswered = 0
    /// Our video packets as sent (before encryption), by sequence number, to
    /// answer NACKs with RTX when the offer has `lossRepair`; the last 1024.
    private var sentVideo: [UInt16: [UInt8]] = [:]
    private var rtxSequence: UInt16 = 0

    private var certificate: DTLSCertificate
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
    /// The offer of an ICE restart waiting for its answer, and the new certificate if any.
    private var pendingRestart: (offer: ClientOffer, certificate: DTLSCertificate?)?

    /// Creates a client with fresh credentials.
    /// With `lossRepair` the offer negotiates generic NACK and RTX for video,
    /// and the client answers the server's NACKs for its video with RTX.
    /// With `transportWide` its own sections offer transport-wide congestion control.
    /// With `screen` the offer also has a screen send section and the screen slot.
    /// With `simulcast` rids (lowest first) its video is offered as that many
    /// simulcast layers, each on its own SSRC (`offer.simulcast`; the last,
    /// top layer's is `offer.videoSSRC`); `sendRTP` on a layer's SSRC
    /// adds its RtpStreamId.
    public init(publishAudio: Bool, publishVideo: Bool, slots: Int, certificate: DTLSCertificate, lossRepair: Bool = false,
                transportWide: Bool = false, screen: Bool = false, simulcast: [String] = []) {
        self.certificate = certificate
        var r = SystemRandomNumberGenerator()
        var offer = ClientOffer(ufrag: IceCredential.random(length: 8, using: &r),
                                password: IceCredential.random(length: 24, using: &r), fingerprint: certificate.fingerprint,
                                audioSSRC: publishAudio ? UInt32.random(in: 1...UInt32.max, using: &r) : nil,
                                videoSSRC: publishVideo ? UInt32.random(in: 1...UInt32.max, using: &r) : nil,
                                slots: slots)
        offer.lossRepair = lossRepair
        offer.transportWide = transportWide
        if screen {
            offer.screenSSRC = UInt32.random(in: 1...UInt32.max, using: &r)
            offer.screenSlot = true
        }
        if lossRepair && publishVideo { offer.videoRTXSSRC = UInt32.random(in: 1...UInt32.max, using: &r) }
        if publishVideo && !simulcast.isEmpty {
            offer.simulcast = simulcast.dropLast().map { ($0, UInt32.random(in: 1...UInt32.max, using: &r)) }
                + [(simulcast.last!, offer.videoSSRC!)]
            offer.videoRTXSSRC = nil
        }
        self.offer = offer
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
            for primary in m.primarySSRCs { if let rtx = m.rtxSSRC(for: primary) { primaryOfRTX[rtx] = primary } }
        }
        do {
            dtls = try DTLSEndpoint(role: dtlsServerRole ? .server : .client, certificate: certificate,
                                    remoteFingerprint: fingerprint,
                                    profiles: SRTPProtectionProfile.serverPreference, now: now)
        } catch { throw .setupFailed("\(error)") }
        nextCheck = now
    }

    /// Starts an ICE restart (RFC 8445 §9): returns a new offer with new
    /// ice-ufrag and ice-pwd, the same sections otherwise. With `certificate`
    /// the offer also carries a new fingerprint: the client then begins a new
    /// DTLS association when the answer arrives (a browser that dropped its
    /// DTLS transport). Until `acceptRestart`, checks keep the old credentials.
    public func restartICE(certificate newCertificate: DTLSCertificate? = nil) -> String {
        var r = SystemRandomNumberGenerator()
        var next = offer
        next.ufrag = IceCredential.random(length: 8, using: &r)
        next.password = IceCredential.random(length: 24, using: &r)
        if let newCertificate { next.fingerprint = newCertificate.fingerprint }
        pendingRestart = (next, newCertificate)
        return next.sdp
    }

    /// Takes the answer to `restartICE`'s offer: new server credentials, a
    /// check with them at once; DTLS and SRTP go on unless the certificate changed.
    public func acceptRestart(answer: String, now: Instant) throws(ClientError) {
        guard let (next, newCertificate) = pendingRestart else { throw .badAnswer("no ICE restart under way") }
        let sdp: SessionDescription
        do { sdp = try SessionDescription.parse(answer) } catch { throw .badAnswer("\(error)") }
        guard let first = sdp.mediaSections.first(where: { !$0.isRejected }),
              let ufrag = sdp.iceUfrag(for: first), let pwd = sdp.icePwd(for: first),
              let fp = sdp.fingerprints(for: first).first,
              let fingerprint = try? DTLSFingerprint(sdp: fp.attributeValue) else {
            throw .badAnswer("no ICE credentials or fingerprint")
        }
        pendingRestart = nil
        offer = next
        remoteUfrag = ufrag
        remotePassword = pwd
        pendingTransaction = nil
        if let newCertificate {
            certificate = newCertificate
            srtp = nil
            dtlsServerRole = sdp.setup(for: first) == .active
            do {
                dtls = try DTLSEndpoint(role: dtlsServerRole ? .server : .client, certificate: newCertificate,
                                        remoteFingerprint: fingerprint,
                                        profiles: SRTPProtectionProfile.serverPreference, now: now)
            } catch { throw .setupFailed("\(error)") }
            iceDone = false
        }
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
            guard let parsed = try? StunParsedMessage(parsing: datagram) else { return }
            if parsed.message.type.messageClass == .request {
                answerCheck(parsed)
                return
            }
            guard parsed.message.type.messageClass == .successResponse,
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
            answerNacks(in: packet)
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
        if let bytes = bindingRequest(transactionID: id, useCandidate: !iceDone || nominatesInConsentChecks) {
            outgoing.append(bytes)
        }
    }

    /// A check as this client sends it (USERNAME, PRIORITY, ICE-CONTROLLING,
    /// USE-CANDIDATE, signed with the server's password). Tests send copies
    /// from other addresses: what a participant could spoof with its own credentials.
    public func bindingRequest(transactionID: StunTransactionID? = nil, useCandidate: Bool = true) -> [UInt8]? {
        let id = transactionID ?? StunTransactionID.random(using: &random)
        let request = StunMessage(
            type: StunMessageType(method: .binding, messageClass: .request), transactionID: id,
            attributes: [.username("\(remoteUfrag):\(offer.ufrag)"), .priority(1_853_824_767),
                         .iceControlling(tieBreaker)] + (useCandidate ? [.useCandidate] : []))
        return try? request.encode(password: remotePassword)
    }

    /// Answers the server's Binding request (RFC 8445 §7.3): USERNAME is
    /// "our ufrag:its ufrag" and MESSAGE-INTEGRITY is keyed by our password.
    private func answerCheck(_ parsed: StunParsedMessage) {
        let request = parsed.message
        guard request.type.method == .binding, request.username == "\(offer.ufrag):\(remoteUfrag)",
              (try? parsed.checkFingerprintAndIntegrity(password: offer.password)) != nil, let server,
              let response = try? StunMessage.bindingSuccessResponse(to: request, source: server, password: offer.password)
        else { return }
        checksAnswered += 1
        outgoing.append(response)
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
        if let layer = offer.simulcast.first(where: { $0.ssrc == ssrc }) {
            builder.extensions.append(RTPHeaderExtensionValue(id: ClientOffer.ridID, data: Array(layer.rid.utf8)))
        }
        guard var packet = try? builder.build(payload: payload) else { return }
        if offer.videoRTXSSRC != nil && ssrc == offer.videoSSRC {
            sentVideo[seq] = packet
            sentVideo[seq &- 1024] = nil
        }
        packet.reserveCapacity(packet.count + SRTPContext.maximumTrailerLength)
        guard (try? srtp.protectRTP(&packet)) != nil else { return }
        outgoing.append(packet)
    }

    /// RFC 4585 §6.2.1 generic NACKs for our video: each packet we still
    /// have goes out again as RTX (RFC 4588 §4) on our RTX SSRC.
    private func answerNacks(in compound: [UInt8]) {
        guard let srtp, let video = offer.videoSSRC, let rtxSSRC = offer.videoRTXSSRC else { return }
        var reader = RTCPCompoundReader(compound)
        while let next = try? reader.next() {
            guard case .nack(let nack) = next, nack.mediaSSRC == video else { continue }
            nacksReceived += 1
            for seq in nack.lostSequenceNumbers {
                guard let original = sentVideo[seq], let header = try? RTPHeader(parsing: original) else { continue }
                var out = [UInt8](repeating: 0, count: RTXPacket.length(of: header) + SRTPContext.maximumTrailerLength)
                let length = out.withUnsafeMutableBytes {
                    RTXPacket.write(original: original, header: header, into: $0, ssrc: rtxSSRC, sequence: rtxSequence,
                                    timestamp: header.timestamp, payloadType: ClientOffer.rtxPayloadType,
                                    originalSequence: seq)
                }
                rtxSequence &+= 1
                out.removeLast(out.count - length)
                guard (try? srtp.protectRTP(&out)) != nil else { continue }
                outgoing.append(out)
                retransmissionsSent += 1
            }
        }
    }

    /// Sends an RTCP compound (e.g. a PLI for a slot).
    public func sendRTCP(_ packets: [any RTCPPacketWritable]) {
        guard let srtp else { return }
        var out = RTCPCompound.build(packets)
        guard (try? srtp.protectRTCP(&out)) != nil else { return }
        outgoing.append(out)
    }
}
