/// A listening or announced address given as "HOST:PORT", "[IPv6]:PORT" or "PORT".
struct HostPort: Equatable, Sendable, CustomStringConvertible {
    var host: String
    var port: Int

    /// Parses `text`; a bare port takes `defaultHost`. Nil when the port is not 0...65535
    /// or the host is empty.
    init?(_ text: String, defaultHost: String) {
        if let port = Int(text) {
            guard (0...65535).contains(port) else { return nil }
            self.init(host: defaultHost, port: port)
            return
        }
        let host: Substring, portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port) else { return nil }
        self.init(host: String(host), port: port)
    }

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// True for 0.0.0.0 and ::, which a client cannot connect to.
    var isUnspecified: Bool { host == "0.0.0.0" || host == "::" || host == "[::]" }

    /// The host as it goes in a URL authority (RFC 3986 §3.2.2: IPv6 in brackets).
    var urlHost: String { host.contains(":") ? "[\(host)]" : host }

    var description: String { "\(urlHost):\(port)" }
}
