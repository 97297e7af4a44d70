import ControlPlane
import Tokens

/// The STUN and TURN servers handed to clients in `joined` (`--ice-servers`,
/// `--turn-secret`, `--turn-credential-ttl`; docs/CONNECTIVITY.md).
///
/// TURN URLs get TURN REST credentials made per participant at join
/// (`TurnRESTCredential`, coturn `use-auth-secret`), so a leaked credential
/// names who leaked it and expires by itself. The secret is never printed:
/// `description` leaves it out, and `--print-config` redacts it.
struct IceServerSettings: Equatable, Sendable, CustomStringConvertible {
    /// `stun:`/`stuns:` URLs, handed out without credentials.
    var stunURLs: [String] = []
    /// `turn:`/`turns:` URLs, handed out with credentials.
    var turnURLs: [String] = []
    /// The secret shared with the TURN server; required with `turnURLs`.
    var turnSecret: [UInt8]?
    /// Seconds a TURN credential stays valid after the join.
    var credentialTTL = Self.defaultCredentialTTL

    /// A day: longer than any group session, short enough that a credential
    /// copied out of a browser is soon useless (coturn's examples use a day too).
    static let defaultCredentialTTL = 86_400
    /// More URLs than any deployment needs makes every `joined` larger for nothing.
    static let maxURLs = 8

    var isEmpty: Bool { stunURLs.isEmpty && turnURLs.isEmpty }

    var description: String {
        "IceServerSettings(stun: \(stunURLs), turn: \(turnURLs), secret: \(turnSecret == nil ? "none" : "<redacted>"), ttl: \(credentialTTL))"
    }

    /// Parses the comma-separated `--ice-servers` list; nil text: none.
    /// Returns the bad URL's text on failure.
    static func parse(urls text: String?, secret: String?, ttl: Int) -> Result<IceServerSettings, ParseError> {
        var settings = IceServerSettings(turnSecret: secret.map { Array($0.utf8) }, credentialTTL: ttl)
        let list = (text ?? "").split(separator: ",").map { $0.trimmingSpaces() }.filter { !$0.isEmpty }
        guard list.count <= maxURLs else { return .failure(.tooMany(list.count)) }
        for url in list {
            let scheme = url.prefix { $0 != ":" }.lowercased()
            let rest = url.drop { $0 != ":" }.dropFirst()
            guard !rest.isEmpty, url.utf8.count <= 256, url.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "\"" }) else {
                return .failure(.badURL(url))
            }
            switch scheme {
            case "stun", "stuns": settings.stunURLs.append(url)
            case "turn", "turns": settings.turnURLs.append(url)
            default: return .failure(.badURL(url))
            }
        }
        if !settings.turnURLs.isEmpty && settings.turnSecret == nil { return .failure(.turnWithoutSecret) }
        if settings.turnURLs.isEmpty && settings.turnSecret != nil { return .failure(.secretWithoutTurn) }
        return .success(settings)
    }

    /// Why `--ice-servers` cannot be used.
    enum ParseError: Error, Equatable {
        case badURL(String)
        case tooMany(Int)
        case turnWithoutSecret
        case secretWithoutTurn
    }

    /// The `joined.iceServers` for `participant` at Unix time `now`; nil when none are configured.
    func servers(for participant: String, unixNow: Int64) -> [IceServer]? {
        guard !isEmpty else { return nil }
        var out: [IceServer] = []
        if !stunURLs.isEmpty { out.append(IceServer(urls: stunURLs)) }
        if !turnURLs.isEmpty, let turnSecret {
            let user = participant.replacingOccurrences(of: ":", with: "-")
            let c = TurnRESTCredential(secret: turnSecret, user: user, expiry: unixNow + Int64(credentialTTL))
            out.append(IceServer(urls: turnURLs, username: c.username, credential: c.credential))
        }
        return out
    }
}

private extension Substring {
    func trimmingSpaces() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
