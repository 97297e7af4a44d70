import CCohortOpenSSL
import Wire

/// An `SSL_CTX` configured for DTLS-SRTP: DTLS 1.2 only, our certificate,
/// mutual authentication by fingerprint, and the SRTP profiles in order.
/// Owned and freed by the `DTLSCertificate` that caches it.
struct SSLContext: @unchecked Sendable {
    let pointer: OpaquePointer

    /// ECDHE with AEAD first; CBC-SHA kept for older peers. RSA suites only
    /// matter when a peer server has an RSA certificate.
    static let cipherList = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
        + "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:"
        + "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA"

    /// A peer certificate chain larger than this is refused, which bounds the
    /// memory a hostile peer can make us hold during a handshake.
    static let maxCertificateList = 16 * 1024

    static func make(certificate: DTLSCertificate, profiles: [SRTPProtectionProfile]) throws(DTLSError) -> SSLContext {
        guard !profiles.isEmpty else { throw .noProfiles }
        ERR_clear_error()
        guard let ctx = SSL_CTX_new(DTLS_method()) else { throw .openSSL("SSL_CTX_new: \(openSSLErrorText())") }
        let srtp = profiles.map { $0.openSSLName }.joined(separator: ":")
        let ok = cohort_SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) == 1
            && cohort_SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) == 1
            && SSL_CTX_use_certificate(ctx, certificate.x509) == 1
            && SSL_CTX_use_PrivateKey(ctx, certificate.privateKey) == 1
            && SSL_CTX_check_private_key(ctx) == 1
            && SSL_CTX_set_cipher_list(ctx, cipherList) == 1
            && SSL_CTX_set_tlsext_use_srtp(ctx, srtp) == 0  // 0 is success here
        guard ok else {
            let reason = openSSLErrorText()
            SSL_CTX_free(ctx)
            throw .openSSL("SSL_CTX setup: \(reason)")
        }
        // No session tickets or resumption: every WebRTC handshake is fresh
        // (RFC 8827 §6.5 pins the certificate, which resumption would skip).
        _ = cohort_SSL_CTX_set_dtls_srtp_options(ctx)
        _ = SSL_CTX_ctrl(ctx, SSL_CTRL_SET_SESS_CACHE_MODE, Int(SSL_SESS_CACHE_OFF), nil)
        _ = cohort_SSL_CTX_set_max_cert_list(ctx, maxCertificateList)
        // Both sides must present a certificate (RFC 5763 §5); the chain is
        // self-signed, so the callback accepts it only by fingerprint.
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, dtlsVerifyCallback)
        return SSLContext(pointer: ctx)
    }
}
