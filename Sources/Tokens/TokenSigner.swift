#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CCohortOpenSSL

/// Mints and verifies Cohort tokens: JWS Compact Serialization (RFC 7515 §7.1) of a
/// JWT (RFC 7519) signed with HMAC-SHA-256 (`HS256`, RFC 7518 §3.2). Only HS256 is
/// accepted, whatever the header says (RFC 8725 §2.1, §3.1). The clock is passed in.
public struct TokenSigner: Sendable {
    /// RFC 7518 §3.2: an HS256 key MUST be at least as long as the hash output.
    public static let minimumSecretLength = 32

    private let secret: [UInt8]
    /// Seconds of clock skew tolerated on `exp`, `nbf` and `iat` (RFC 7519 §4.1.4 "leeway").
    public let leeway: Int64

    /// The header of every token we mint, byte for byte, so mints are reproducible.
    static let header = #"{"alg":"HS256","typ":"JWT"}"#

    /// Creates a signer for `secret`. The caller checks `minimumSecretLength`
    /// (the CLI does); a shorter secret still works but weakens the MAC.
    public init(secret: [UInt8], leeway: Int64 = 0) {
        self.secret = secret
        self.leeway = leeway
    }

    /// Creates a signer whose secret is the UTF-8 bytes of `secret`.
    public init(secret: String, leeway: Int64 = 0) {
        self.init(secret: Array(secret.utf8), leeway: leeway)
    }

    /// A fresh 32-byte secret from OpenSSL's CSPRNG, base64url-encoded (43 characters).
    public static func randomSecret() -> String {
        var bytes = [UInt8](repeating: 0, count: minimumSecretLength)
        let ok = bytes.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32($0.count)) }
        precondition(ok == 1, "OpenSSL RAND_bytes failed")
        return Base64URL.encode(bytes)
    }

    /// A fresh token id (`jti`): 16 random bytes, base64url-encoded.
    public static func randomTokenID() -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        let ok = bytes.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32($0.count)) }
        precondition(ok == 1, "OpenSSL RAND_bytes failed")
        return Base64URL.encode(bytes)
    }

    /// Signs `claims`. The payload is JSON with sorted keys and no whitespace, so the
    /// same claims always give the same token.
    public func mint(_ claims: TokenClaims) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a struct of strings and integers cannot fail.
        let payload = try! encoder.encode(claims)
        let signingInput = Base64URL.encode(Array(Self.header.utf8)) + "." + Base64URL.encode(Array(payload))
        let tag = HMACSHA256.authenticate(Array(signingInput.utf8), key: secret)
        return signingInput + "." + Base64URL.encode(tag)
    }

    /// Verifies `token` at `now` (Unix seconds) and returns its claims.
    ///
    /// Order matters: the header's algorithm is checked before the MAC (so `alg`
    /// cannot choose how we verify), and the MAC before any claim is believed.
    /// - Parameter expectedSession: when non-nil, the `sid` claim must equal it.
    public func verify(_ token: String, now: Int64, expectedSession: String? = nil) throws(TokenError) -> TokenClaims {
        let parts = token.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3,
              let headerBytes = Base64URL.decode(Substring(parts[0])),
              let signature = Base64URL.decode(Substring(parts[2])) else { throw .malformed }
        try Self.checkHeader(headerBytes)

        let signingInput = Array(token.utf8.prefix(parts[0].count + 1 + parts[1].count))
        let expected = HMACSHA256.authenticate(signingInput, key: secret)
        guard HMACSHA256.constantTimeEqual(expected, signature) else { throw .badSignature }

        guard let payload = Base64URL.decode(Substring(parts[1])) else { throw .malformed }
        let claims = try Self.decodeClaims(payload)

        if let nbf = claims.notBefore, now + leeway < nbf { throw .notYetValid }
        if now + leeway < claims.issuedAt { throw .notYetValid }
        if now - leeway >= claims.expiresAt { throw .expired }
        if let expectedSession, claims.session != expectedSession { throw .wrongSession }
        return claims
    }

    private struct Header: Decodable {
        var alg: String?
        var crit: [String]?
    }

    private static func checkHeader(_ bytes: [UInt8]) throws(TokenError) {
        let header: Header
        do { header = try JSONDecoder().decode(Header.self, from: Data(bytes)) } catch { throw .malformed }
        guard let alg = header.alg else { throw .unsupportedAlgorithm("") }
        guard alg == "HS256" else { throw .unsupportedAlgorithm(alg) }
        // RFC 7515 §4.1.11: a recipient that does not understand a listed extension MUST reject.
        if header.crit != nil { throw .unsupportedAlgorithm("crit") }
    }

    /// Every claim optional, so that absence and wrong types are told apart.
    private struct RawClaims: Decodable {
        var sid: String?
        var room: String?
        var name: String?
        var role: String?
        var exp: Double?
        var iat: Double?
        var nbf: Double?
        var sub: String?
        var jti: String?
    }

    private static func decodeClaims(_ bytes: [UInt8]) throws(TokenError) -> TokenClaims {
        let raw: RawClaims
        do {
            raw = try JSONDecoder().decode(RawClaims.self, from: Data(bytes))
        } catch let DecodingError.typeMismatch(_, context) where !context.codingPath.isEmpty {
            throw .invalidClaim(context.codingPath[0].stringValue)
        } catch {
            throw .malformed
        }
        guard let sid = raw.sid else { throw .missingClaim("sid") }
        guard let name = raw.name else { throw .missingClaim("name") }
        guard let roleText = raw.role else { throw .missingClaim("role") }
        guard let role = ParticipantRole(rawValue: roleText) else { throw .invalidClaim("role") }
        guard let exp = raw.exp else { throw .missingClaim("exp") }
        guard let iat = raw.iat else { throw .missingClaim("iat") }
        let expiresAt = try numericDate(exp, "exp"), issuedAt = try numericDate(iat, "iat")
        let notBefore = try raw.nbf.map { (v: Double) throws(TokenError) in try numericDate(v, "nbf") }
        // Every token names one person: the records, removal and the join
        // limits all key on it.
        guard let sub = raw.sub, !sub.isEmpty else { throw .missingClaim("sub") }
        return TokenClaims(session: sid, room: raw.room ?? TokenClaims.defaultRoom, name: name, role: role,
                           expiresAt: expiresAt, issuedAt: issuedAt, notBefore: notBefore, subject: sub, tokenID: raw.jti)
    }

    /// RFC 7519 §2 NumericDate: seconds, possibly fractional; truncated to whole seconds.
    private static func numericDate(_ value: Double, _ claim: String) throws(TokenError) -> Int64 {
        guard value.isFinite, value >= 0, value < 1e15 else { throw .invalidClaim(claim) }
        return Int64(value.rounded(.down))
    }
}
