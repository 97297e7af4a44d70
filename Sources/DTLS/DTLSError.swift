/// Errors that the DTLS module throws to its caller: bad configuration, bad
/// local files, or a call made in the wrong state. Peer misbehaviour is never
/// thrown; it ends the handshake with a `DTLSFailure` event instead.
public enum DTLSError: Error, Equatable, Sendable {
    /// OpenSSL could not generate the key pair or sign the certificate.
    case certificateGeneration(String)
    /// A PEM file could not be read or did not hold what it should.
    case certificateFile(path: String, reason: String)
    /// A fingerprint string is not of the SDP form "sha-256 AB:CD:..." (RFC 8122 §5).
    case invalidFingerprint(String)
    /// No SRTP protection profile was offered; DTLS-SRTP needs at least one (RFC 5764 §4.1.1).
    case noProfiles
    /// OpenSSL refused to set up a context or connection.
    case openSSL(String)
    /// Application data was sent before the handshake completed or after it failed.
    case notConnected
    /// Application data larger than one record within the MTU.
    case applicationDataTooLarge(Int)
}

/// Why a DTLS handshake or connection ended. Reported once through
/// `DTLSEvent.failed`; after it the endpoint exports no keys and sends nothing.
public enum DTLSFailure: Equatable, Sendable {
    /// The handshake did not complete within `DTLSConfiguration.handshakeTimeout`.
    case handshakeTimeout
    /// The peer's certificate does not match the fingerprint from its SDP (RFC 8122 §5, RFC 5763 §5).
    case fingerprintMismatch
    /// The peer completed the handshake without a certificate.
    case peerCertificateMissing
    /// The peer negotiated no SRTP protection profile we offered (RFC 5764 §4.1.3).
    case noSRTPProfile
    /// Keying material export failed (RFC 5705).
    case keyExportFailed
    /// The peer sent a fatal alert or violated the protocol; the text is OpenSSL's reason.
    case protocolError(String)
}
