import CCohortOpenSSL
import Wire

/// A sans-IO DTLS 1.2 endpoint for DTLS-SRTP (RFC 5764), client or server,
/// on OpenSSL 3.0.
///
/// Feed it datagrams with `receive(_:now:)` and call `handleTimeout(now:)` at
/// `nextDeadline`; drain `poll()` after each call for datagrams to send and
/// events. It never reads a clock, opens a socket or starts a task.
///
/// A class, not a value: it owns an OpenSSL `SSL` object, which cannot be
/// copied. Use it from one event loop only.
public final class DTLSEndpoint {
    /// This endpoint's side of the handshake.
    public let role: DTLSRole
    /// The configuration it was created with.
    public let configuration: DTLSConfiguration
    /// The fingerprint the peer's certificate must match (from the remote SDP).
    public let remoteFingerprint: DTLSFingerprint
    /// Where the endpoint stands.
    public private(set) var state: DTLSState = .handshaking
    /// The exported SRTP keys, once connected.
    public private(set) var keyingMaterial: SRTPKeyingMaterial?
    /// Counters for metrics and tests.
    public internal(set) var statistics = DTLSStatistics()

    let ssl: OpaquePointer
    let channel: DatagramChannel
    let offeredProfiles: [SRTPProtectionProfile]
    let handshakeDeadline: Instant
    var transmits: [[UInt8]] = []
    var events: [DTLSEvent] = []
    /// The `now` of the call in progress, for OpenSSL's callbacks.
    var currentNow: Instant
    /// Set by the verify callback when it rejects the peer's certificate.
    var fingerprintRejected = false
    /// Retransmission bookkeeping; see DTLSEndpoint+Retransmission.swift.
    var retransmission: RetransmissionState

    static let exporterLabel = "EXTRACTOR-dtls_srtp"  // RFC 5764 §4.2

    /// Creates an endpoint. A client sends its ClientHello at once (drain `poll()`).
    ///
    /// - Parameters:
    ///   - profiles: the SRTP profiles to offer or accept. A client offers them
    ///     in this order; a server picks by `SRTPProtectionProfile.serverPreference`.
    ///   - now: the start of the handshake; it fails `handshakeTimeout` later.
    public init(role: DTLSRole, certificate: DTLSCertificate, remoteFingerprint: DTLSFingerprint,
                profiles: [SRTPProtectionProfile] = SRTPProtectionProfile.serverPreference,
                now: Instant, configuration: DTLSConfiguration = DTLSConfiguration()) throws(DTLSError) {
        var unique: [SRTPProtectionProfile] = []
        for p in profiles where !unique.contains(p) { unique.append(p) }
        let ordered = role == .server ? SRTPProtectionProfile.serverPreference.filter(unique.contains) : unique
        let context = try certificate.context(profiles: ordered)
        guard let ssl = SSL_new(context.pointer) else { throw .openSSL("SSL_new: \(openSSLErrorText())") }
        let channel = DatagramChannel(mtu: configuration.mtu)
        guard let bio = channel.makeBIO() else {
            SSL_free(ssl)
            throw .openSSL("BIO_new: \(openSSLErrorText())")
        }
        SSL_set_bio(ssl, bio, bio)  // one reference, owned by the SSL
        self.ssl = ssl
        self.channel = channel
        self.role = role
        self.configuration = configuration
        self.remoteFingerprint = remoteFingerprint
        self.offeredProfiles = ordered
        self.currentNow = now
        self.handshakeDeadline = now + configuration.handshakeTimeout
        self.retransmission = RetransmissionState(backoff: configuration.initialRetransmitTimeout)

        SSL_set_ex_data(ssl, 0, Unmanaged.passUnretained(self).toOpaque())
        _ = cohort_SSL_set_options_no_query_mtu(ssl)
        _ = cohort_SSL_set_mtu(ssl, configuration.mtu)
        DTLS_set_timer_cb(ssl, dtlsTimerCallback)
        channel.onWrite = { [unowned self] datagram in self.openSSLWrote(datagram) }
        if role == .client {
            SSL_set_connect_state(ssl)
            advance()
        } else {
            SSL_set_accept_state(ssl)
        }
    }

    deinit {
        SSL_free(ssl)
    }

    /// Hands one received datagram to the endpoint.
    ///
    /// Receive-path ladder: datagrams after the end, empty or oversized ones,
    /// and ones whose first byte is outside DTLS's range 20...63 (RFC 7983 §7)
    /// are counted and dropped before OpenSSL sees them. OpenSSL silently
    /// discards malformed records (RFC 6347 §4.1.2.7).
    public func receive(_ datagram: [UInt8], now: Instant) {
        currentNow = now
        switch state {
        case .handshaking, .connected: break
        case .failed, .closed:
            statistics.datagramsAfterEnd += 1
            return
        }
        guard let first = datagram.first, datagram.count <= configuration.maxDatagramSize,
              (20...63).contains(first) else {
            statistics.malformedDatagrams += 1
            return
        }
        let writesBefore = retransmission.writes
        channel.inbound = datagram
        advance()
        channel.inbound = nil
        if state == .connected, role == .server, retransmission.writes == writesBefore,
           DTLSRecordHeader.carriesHandshake(datagram) {
            resendFinalFlight(now: now)
        }
    }

    /// Advances timers: retransmits the current flight when its timeout has
    /// passed, and fails the handshake after `handshakeTimeout`.
    public func handleTimeout(now: Instant) {
        currentNow = now
        guard state == .handshaking else { return }
        if now >= handshakeDeadline {
            transmits.removeAll()
            fail(.handshakeTimeout)
            return
        }
        if let due = retransmission.deadline, now >= due {
            retransmitFlight(now: now)
        }
    }

    /// Sends application data to the peer (one record).
    public func send(_ data: [UInt8], now: Instant) throws(DTLSError) {
        currentNow = now
        guard state == .connected else { throw .notConnected }
        guard data.count <= configuration.mtu - 100 else { throw .applicationDataTooLarge(data.count) }
        ERR_clear_error()
        let rc = SSL_write(ssl, data, Int32(data.count))
        if rc <= 0 { handleSSLError(rc) }
    }

    /// The next output: datagrams to send first, then events; nil when drained.
    public func poll() -> DTLSOutput? {
        if !transmits.isEmpty { return .transmit(transmits.removeFirst()) }
        if !events.isEmpty { return .event(events.removeFirst()) }
        return nil
    }

    /// When `handleTimeout(now:)` must next be called; nil when nothing is pending.
    public var nextDeadline: Instant? {
        guard state == .handshaking else { return nil }
        guard let due = retransmission.deadline else { return handshakeDeadline }
        return min(due, handshakeDeadline)
    }

    /// Datagrams waiting for `poll()`; never more than `configuration.maxPendingTransmits`.
    public var pendingTransmitCount: Int { transmits.count }

    // MARK: - Driving OpenSSL

    /// Runs OpenSSL on whatever input is pending and collects its results.
    func advance() {
        if state == .handshaking {
            ERR_clear_error()
            let rc = SSL_do_handshake(ssl)
            retransmission.openSSLRetransmitting = false
            if rc == 1 {
                completeHandshake()
            } else {
                handleSSLError(rc)
                syncTimer()
            }
        }
        if state == .connected { readApplicationData() }
    }

    private func readApplicationData() {
        var buffer = [UInt8](repeating: 0, count: 16_384 + 256)
        for _ in 0..<16 {
            ERR_clear_error()
            let n = SSL_read(ssl, &buffer, Int32(buffer.count))
            retransmission.openSSLRetransmitting = false
            guard n > 0 else {
                handleSSLError(n)
                return
            }
            guard events.count < configuration.maxPendingEvents else { continue }
            events.append(.applicationData(Array(buffer[0..<Int(n)])))
        }
    }

    /// Maps a non-positive OpenSSL return to "wait for input", close, or failure.
    func handleSSLError(_ rc: Int32) {
        switch SSL_get_error(ssl, rc) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return
        case SSL_ERROR_ZERO_RETURN:
            guard state == .connected || state == .handshaking else { return }
            state = .closed
            keyingMaterial = nil
            events.append(.closed)
        default:
            fail(fingerprintRejected ? .fingerprintMismatch : .protocolError(openSSLErrorText()))
        }
    }

    /// RFC 5763 §5: the certificate must match the SDP fingerprint; RFC 5764
    /// §4.1.3: a profile must have been negotiated; then export the keys (§4.2).
    private func completeHandshake() {
        guard let peer = SSL_get1_peer_certificate(ssl) else { return fail(.peerCertificateMissing) }
        defer { X509_free(peer) }
        guard DTLSFingerprint.of(peer, algorithm: remoteFingerprint.algorithm) == remoteFingerprint else {
            return fail(.fingerprintMismatch)
        }
        guard let selected = SSL_get_selected_srtp_profile(ssl),
              let profile = SRTPProtectionProfile(rawValue: UInt16(truncatingIfNeeded: selected.pointee.id)),
              offeredProfiles.contains(profile) else { return fail(.noSRTPProfile) }
        var exported = [UInt8](repeating: 0, count: 2 * (profile.keyLength + profile.saltLength))
        let label = Self.exporterLabel
        guard SSL_export_keying_material(ssl, &exported, exported.count, label, label.utf8.count, nil, 0, 0) == 1,
              let material = SRTPKeyingMaterial(profile: profile, exported: exported) else {
            return fail(.keyExportFailed)
        }
        state = .connected
        keyingMaterial = material
        retransmission.deadline = nil
        events.append(.connected(material))
    }

    func fail(_ reason: DTLSFailure) {
        guard state == .handshaking || state == .connected else { return }
        state = .failed(reason)
        keyingMaterial = nil
        retransmission.deadline = nil
        retransmission.flight.removeAll()
        events.append(.failed(reason))
    }

    /// The peer certificate check run by OpenSSL's verify callback at depth 0.
    func acceptsPeerCertificate(_ x509: OpaquePointer) -> Bool {
        let ok = DTLSFingerprint.of(x509, algorithm: remoteFingerprint.algorithm) == remoteFingerprint
        if !ok { fingerprintRejected = true }
        return ok
    }

    static func from(ssl: OpaquePointer?) -> DTLSEndpoint? {
        guard let ssl, let raw = SSL_get_ex_data(ssl, 0) else { return nil }
        return Unmanaged<DTLSEndpoint>.fromOpaque(raw).takeUnretainedValue()
    }
}

/// Accepts the self-signed chain but pins the leaf to the SDP fingerprint, so
/// an impostor is refused with an alert before either side finishes.
let dtlsVerifyCallback: @convention(c) (Int32, OpaquePointer?) -> Int32 = { _, store in
    guard let store,
          let raw = X509_STORE_CTX_get_ex_data(store, cohort_SSL_get_ex_data_X509_STORE_CTX_idx()),
          let endpoint = DTLSEndpoint.from(ssl: OpaquePointer(raw)) else { return 0 }
    guard X509_STORE_CTX_get_error_depth(store) == 0 else { return 1 }
    guard let leaf = X509_STORE_CTX_get_current_cert(store) else { return 0 }
    return endpoint.acceptsPeerCertificate(leaf) ? 1 : 0
}
