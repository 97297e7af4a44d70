import NIOConcurrencyHelpers
import NIOHTTP1

/// Which web pages may open a WebSocket to this server (the `Origin` header,
/// RFC 6454; RFC 6455 §4.2.2 leaves the check to the server). A browser always
/// sends the page's origin, so a page on another site cannot use a patient's
/// link from inside its own page; clients that are not browsers send none and
/// are let in (they hold a token, which is what authorizes them).
public struct OriginPolicy: Sendable, Equatable {
    /// Origins allowed besides the server's own (`scheme://host[:port]`, lower case).
    public var allowed: Set<String>
    /// `*`: any origin (no check).
    public var anyOrigin: Bool
    /// Origins that change while the server runs: in scale-out, the pages
    /// of the other nodes, whose clients a `redirect` sends here.
    public var peers: PeerOrigins?

    /// The server's own origin only (and clients without `Origin`).
    public init(allowed: [String] = []) {
        anyOrigin = allowed.contains("*")
        self.allowed = Set(allowed.filter { $0 != "*" }.map { Self.normalized($0) })
    }

    /// Whether a request with these headers may open a WebSocket. The
    /// server's own origin is the one in `Host` (over `http` or `https`,
    /// since a TLS proxy may sit in front).
    public func allows(_ headers: HTTPHeaders) -> Bool {
        let origins = headers["Origin"]
        guard !anyOrigin, let origin = origins.first else { return true }
        guard origins.count == 1 else { return false }
        let o = Self.normalized(origin)
        if allowed.contains(o) || peers?.contains(o) == true { return true }
        guard let host = headers["Host"].first?.lowercased(), !host.isEmpty else { return false }
        return o == "http://\(host)" || o == "https://\(host)"
            || o == "http://\(host):80" || o == "https://\(host):443"
    }

    /// Lower case, without a trailing slash.
    static func normalized(_ origin: String) -> String {
        var o = String(origin.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed()).lowercased()
        while o.hasSuffix("/") { o.removeLast() }
        return o
    }
}

/// A set of allowed origins that another part of the server replaces while
/// it runs (the session directory, docs/SCALE-OUT.md). Compared by identity.
public final class PeerOrigins: Sendable, Equatable {
    private let origins = NIOLockedValueBox(Set<String>())

    /// An empty set.
    public init() {}

    /// Replaces the set; each is `scheme://host[:port]`, normalised here.
    public func replace(with new: Set<String>) {
        let normalised = Set(new.map { OriginPolicy.normalized($0) })
        origins.withLockedValue { $0 = normalised }
    }

    /// Whether `origin` (normalised) is in the set.
    func contains(_ origin: String) -> Bool { origins.withLockedValue { $0.contains(origin) } }

    public static func == (a: PeerOrigins, b: PeerOrigins) -> Bool { a === b }
}
