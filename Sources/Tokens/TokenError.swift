/// Why a token was refused. Every malformed or hostile token maps to one of these;
/// none of them traps.
public enum TokenError: Error, Equatable, Sendable {
    /// Not three base64url parts, or a part that is not the JSON it must be (RFC 7519 §7.2).
    case malformed
    /// The HMAC does not match: the token was forged, altered, or signed with another secret.
    case badSignature
    /// The header's `alg` is not `HS256` (RFC 7515 §4.1.1); `none` is always refused
    /// (RFC 8725 §3.1), as is a `crit` header we cannot honour (RFC 7515 §4.1.11).
    case unsupportedAlgorithm(String)
    /// `now` is on or after `exp` (RFC 7519 §4.1.4), beyond the leeway.
    case expired
    /// `now` is before `nbf` (RFC 7519 §4.1.5) or before `iat`, beyond the leeway.
    case notYetValid
    /// The token's `sid` names another therapy session than the one expected.
    case wrongSession
    /// A required claim is absent; the associated value is its JSON name.
    case missingClaim(String)
    /// A claim has the wrong JSON type or a value outside its domain (e.g. an unknown role).
    case invalidClaim(String)
}
