import Foundation

/// A PostgreSQL connection URL as `--records` takes it (the libpq form,
/// a subset): `postgres://user:password@host:port/database?sslmode=MODE`,
/// or `postgresql://...`. Pure: parsing only.
public struct PostgresURL: Sendable, Equatable {
    /// TLS to the database, as libpq's `sslmode` names it.
    public enum SSLMode: String, Sendable {
        /// Plain TCP (a database on this host or a private network).
        case disable
        /// TLS if the server offers it, else plain (libpq's default).
        case prefer
        /// TLS, with the server's certificate verified against the system's roots.
        case require
    }

    public var user: String
    public var password: String?
    public var host: String
    public var port: Int
    /// The database; the user name when the URL has none (as libpq).
    public var database: String
    public var sslMode: SSLMode

    /// Nil when `text` is not a `postgres://` or `postgresql://` URL (it is
    /// then an SQLite path); throws when it is one but cannot be used.
    public init?(parsing text: String) throws(RecordsError) {
        let lower = text.lowercased()
        guard lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://") else { return nil }
        let shown = Self.withoutPassword(text)
        guard let c = URLComponents(string: text) else { throw .invalidURL(shown, reason: "not a URL") }
        guard let host = c.host, !host.isEmpty else { throw .invalidURL(shown, reason: "no host") }
        guard let user = c.user, !user.isEmpty else { throw .invalidURL(shown, reason: "no user name") }
        if let port = c.port, !(1...65_535).contains(port) { throw .invalidURL(shown, reason: "bad port") }
        // Decode once, from the encoded parts: a password may hold a literal "%".
        self.user = c.percentEncodedUser?.removingPercentEncoding ?? user
        password = c.percentEncodedPassword.map { $0.removingPercentEncoding ?? $0 }
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        port = c.port ?? 5432
        let encodedPath = c.percentEncodedPath
        let path = encodedPath.hasPrefix("/") ? String(encodedPath.dropFirst()) : encodedPath
        database = path.isEmpty ? self.user : (path.removingPercentEncoding ?? path)
        sslMode = .prefer
        for item in c.queryItems ?? [] {
            guard item.name == "sslmode" else { throw .invalidURL(shown, reason: "unknown parameter \(item.name)") }
            guard let mode = item.value.flatMap(SSLMode.init(rawValue:)) else {
                throw .invalidURL(shown, reason: "sslmode is disable, prefer or require")
            }
            sslMode = mode
        }
    }

    /// The URL without its password, for errors and logs.
    public var redacted: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(user)@\(h):\(port)/\(database)" + (sslMode == .prefer ? "" : "?sslmode=\(sslMode.rawValue)")
    }

    /// `text` with whatever stands between `user:` and `@` replaced, for a URL too broken to parse.
    static func withoutPassword(_ text: String) -> String {
        guard let scheme = text.range(of: "://"),
              let at = text[scheme.upperBound...].lastIndex(of: "@") else { return text }
        let userInfo = text[scheme.upperBound..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }
}
