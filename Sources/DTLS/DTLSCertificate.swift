import CCohortOpenSSL
import Synchronization
import Wire

/// The local DTLS identity: an ECDSA P-256 key and a self-signed certificate
/// (WebRTC authenticates by fingerprint, RFC 8827 §6.5, not by a CA chain).
///
/// Owns the OpenSSL key and certificate, and caches the `SSL_CTX`s built from
/// them so that each handshake costs only an `SSL_new`. Sendable: after `init`
/// the key and certificate are only read, which OpenSSL allows from any thread,
/// and the context cache is behind a mutex.
public final class DTLSCertificate: @unchecked Sendable {
    let x509: OpaquePointer
    let privateKey: OpaquePointer
    private let contexts = Mutex<[[UInt16]: SSLContext]>([:])

    /// The SHA-256 fingerprint to put in the local SDP.
    public let fingerprint: DTLSFingerprint

    /// Generates a fresh ECDSA P-256 key and a self-signed certificate with
    /// common name `commonName`, a random 64-bit serial, valid from one day
    /// ago (clock skew) for `validityDays`.
    ///
    /// Reads the wall clock for the validity dates; this runs at start-up,
    /// outside any engine.
    public init(commonName: String = "cohort", validityDays: Int = 30) throws(DTLSError) {
        guard let key = cohort_EVP_EC_gen("P-256") else {
            throw .certificateGeneration("EC key generation: \(openSSLErrorText())")
        }
        guard let cert = X509_new() else {
            EVP_PKEY_free(key)
            throw .certificateGeneration("X509_new failed")
        }
        var serial = [UInt8](repeating: 0, count: 8)
        let built: Bool = {
            guard RAND_bytes(&serial, Int32(serial.count)) == 1 else { return false }
            serial[0] &= 0x7F  // a positive INTEGER (RFC 5280 §4.1.2.2)
            let bn = BN_bin2bn(serial, Int32(serial.count), nil)
            defer { BN_free(bn) }
            guard X509_set_version(cert, 2) == 1,
                  bn != nil, BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nil,
                  X509_gmtime_adj(X509_getm_notBefore(cert), -86_400) != nil,
                  X509_gmtime_adj(X509_getm_notAfter(cert), 86_400 * validityDays) != nil,
                  let name = X509_get_subject_name(cert),
                  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, commonName, -1, -1, 0) == 1,
                  X509_set_issuer_name(cert, name) == 1,
                  X509_set_pubkey(cert, key) == 1,
                  X509_sign(cert, key, EVP_sha256()) > 0 else { return false }
            return true
        }()
        guard built, let fp = DTLSFingerprint.of(cert, algorithm: .sha256) else {
            X509_free(cert)
            EVP_PKEY_free(key)
            throw .certificateGeneration("certificate: \(openSSLErrorText())")
        }
        x509 = cert
        privateKey = key
        fingerprint = fp
    }

    /// Loads a certificate and its private key from PEM files.
    public init(certificatePEMPath: String, privateKeyPEMPath: String) throws(DTLSError) {
        guard let cert = Self.readPEM(certificatePEMPath, { PEM_read_bio_X509($0, nil, nil, nil) }) else {
            throw .certificateFile(path: certificatePEMPath, reason: "no PEM certificate: \(openSSLErrorText())")
        }
        guard let key = Self.readPEM(privateKeyPEMPath, { PEM_read_bio_PrivateKey($0, nil, nil, nil) }) else {
            X509_free(cert)
            throw .certificateFile(path: privateKeyPEMPath, reason: "no PEM private key: \(openSSLErrorText())")
        }
        guard X509_check_private_key(cert, key) == 1, let fp = DTLSFingerprint.of(cert, algorithm: .sha256) else {
            X509_free(cert)
            EVP_PKEY_free(key)
            throw .certificateFile(path: privateKeyPEMPath, reason: "key does not match the certificate")
        }
        x509 = cert
        privateKey = key
        fingerprint = fp
    }

    deinit {
        contexts.withLock { cache in
            for context in cache.values { SSL_CTX_free(context.pointer) }
        }
        X509_free(x509)
        EVP_PKEY_free(privateKey)
    }

    /// The fingerprint under another hash function, for peers that ask for one.
    public func fingerprint(_ algorithm: DTLSFingerprint.Algorithm) -> DTLSFingerprint? {
        DTLSFingerprint.of(x509, algorithm: algorithm)
    }

    /// The certificate in PEM form (for tools and tests that need a file).
    public var certificatePEM: String {
        Self.writePEM { PEM_write_bio_X509($0, x509) }
    }

    /// The private key in unencrypted PKCS#8 PEM form. Handle with care.
    public var privateKeyPEM: String {
        Self.writePEM { PEM_write_bio_PrivateKey($0, privateKey, nil, nil, 0, nil, nil) }
    }

    /// The cached context for an ordered profile list, built on first use.
    func context(profiles: [SRTPProtectionProfile]) throws(DTLSError) -> SSLContext {
        let key = profiles.map(\.rawValue)
        if let cached = contexts.withLock({ $0[key] }) { return cached }
        let made = try SSLContext.make(certificate: self, profiles: profiles)
        return contexts.withLock { cache in
            if let raced = cache[key] {
                SSL_CTX_free(made.pointer)
                return raced
            }
            cache[key] = made
            return made
        }
    }

    private static func readPEM(_ path: String, _ read: (OpaquePointer) -> OpaquePointer?) -> OpaquePointer? {
        guard let bio = BIO_new_file(path, "r") else { return nil }
        defer { BIO_free(bio) }
        return read(bio)
    }

    private static func writePEM(_ write: (OpaquePointer) -> Int32) -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { return "" }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { return "" }
        var out = [UInt8](repeating: 0, count: Int(BIO_ctrl_pending(bio)))
        let n = BIO_read(bio, &out, Int32(out.count))
        return String(decoding: out.prefix(max(0, Int(n))), as: UTF8.self)
    }
}

/// The text of OpenSSL's oldest queued error on this thread, and clears the queue.
func openSSLErrorText() -> String {
    let code = ERR_get_error()
    ERR_clear_error()
    guard code != 0 else { return "unknown OpenSSL error" }
    var buffer = [CChar](repeating: 0, count: 256)
    ERR_error_string_n(code, &buffer, buffer.count)
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
