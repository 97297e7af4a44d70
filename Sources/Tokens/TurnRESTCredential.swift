import CCohortOpenSSL

/// A time-limited TURN credential from a secret Cohort shares with the TURN
/// server ("TURN REST API" credentials, the scheme of
/// draft-uberti-behave-turn-rest-00 that RFC 7635 §1 describes and coturn
/// implements as `use-auth-secret`): the username is
/// `"<expiry unix time>:<user>"` and the password is
/// base64(HMAC-SHA1(secret, username)). The TURN server recomputes the
/// password from the username and refuses it after the expiry; nothing is
/// stored on either side, and the secret never leaves the two servers.
public struct TurnRESTCredential: Equatable, Sendable {
    /// `"<expiry>:<user>"`.
    public var username: String
    /// base64(HMAC-SHA1(secret, username)), RFC 4648 §4 with padding.
    public var credential: String

    /// The credential for `user`, valid until `expiry` (Unix seconds).
    /// `user` must not contain `:` (the TURN server splits on the first one).
    public init(secret: [UInt8], user: String, expiry: Int64) {
        precondition(!user.contains(":"), "a TURN REST user name has no ':'")
        username = "\(expiry):\(user)"
        credential = Self.base64(HMACSHA1.authenticate(Array(username.utf8), key: secret))
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Standard base64 with padding (RFC 4648 §4), as coturn compares it.
    static func base64(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let n = min(3, bytes.count - i)
            var v = UInt32(bytes[i]) << 16
            if n > 1 { v |= UInt32(bytes[i + 1]) << 8 }
            if n > 2 { v |= UInt32(bytes[i + 2]) }
            for k in 0..<4 {
                out.append(k <= n ? alphabet[Int(v >> (18 - 6 * UInt32(k)) & 0x3F)] : UInt8(ascii: "="))
            }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// HMAC-SHA-1 (RFC 2104, RFC 2202 vectors) on OpenSSL's one-shot `HMAC()`:
/// only for TURN REST credentials, whose format fixes SHA-1.
public enum HMACSHA1 {
    /// Computes the 20-byte HMAC-SHA-1 of `message` under `key`.
    public static func authenticate(_ message: [UInt8], key: [UInt8]) -> [UInt8] {
        var tag = [UInt8](repeating: 0, count: 20)
        var length: UInt32 = 0
        // A non-NULL key pointer even for an empty key (see HMACSHA256).
        let keyBytes = key.isEmpty ? [0] : key
        let result = keyBytes.withUnsafeBufferPointer { k in
            message.withUnsafeBufferPointer { m in
                tag.withUnsafeMutableBufferPointer { t in
                    HMAC(EVP_sha1(), k.baseAddress, Int32(key.count), m.baseAddress ?? k.baseAddress, m.count, t.baseAddress, &length)
                }
            }
        }
        precondition(result != nil && length == 20, "OpenSSL HMAC-SHA-1 failed")
        return tag
    }
}
