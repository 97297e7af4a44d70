/// One `cohort serve` option, declared once: the flag `--name`, the
/// variable `COHORT_NAME` and the `name:` key of a `--config` file all come
/// from this one line, and so do `--help` and `--print-config`.
///
/// Why a table: three sources (flag, environment, file) and two printouts
/// for every option drifted apart when each was written by hand; a new
/// option is now one line in `ServeOption.all` plus its typed reading in
/// `ServeSettings.resolve`.
struct ServeOption: Sendable, Equatable {
    /// The long name: flag `--name`, file key `name`.
    let name: String
    /// What the value looks like, for `--help` (`host:port`, `n`, `on|off`).
    let valueName: String
    /// One or two sentences for `--help`.
    let help: String
    /// The value used when no source gives one, as the operator would type
    /// it; nil when there is none or it is derived (then `help` says how).
    let defaultValue: String?
    /// Printed as `<redacted>` by `--print-config`.
    var isSecret = false

    init(_ name: String, _ valueName: String, _ help: String, default defaultValue: String? = nil, secret: Bool = false) {
        self.name = name
        self.valueName = valueName
        self.help = help
        self.defaultValue = defaultValue
        self.isSecret = secret
    }

    /// `--name`.
    var flag: String { "--" + name }

    /// `COHORT_NAME`: capitals, `_` for `-`.
    var environmentVariable: String {
        "COHORT_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
    }
}

extension ServeOption {
    /// Every `serve` option, in the order `--help` and `--print-config` show them.
    static let all: [ServeOption] = [
        ServeOption("http", "host:port", "HTTP/WebSocket listen address.", default: ServeSettings.defaultHTTP),
        ServeOption("media", "host:port",
                    "UDP media listen address (STUN, DTLS, SRTP on one port); one socket per core on consecutive ports from this one.",
                    default: ServeSettings.defaultMedia),
        ServeOption("announce", "address",
                    "Address put in ICE candidates, the one clients can reach (e.g. the public IP behind NAT). Default: the --media host."),
        ServeOption("secret", "secret",
                    "HS256 token secret, at least 32 bytes. Prefer COHORT_SECRET: flags show in `ps`. If unset, a random secret is generated and demo host/participant links are printed.",
                    secret: true),
        ServeOption("session", "id",
                    "Serve only this session: tokens of every other session are refused. Also the session of the printed demo links. Default: any session; demo links for \(ServeSettings.defaultSession)."),
        ServeOption("consent-timeout", "seconds",
                    "Seconds without ICE consent (RFC 7675) before a participant's media is dropped. At least \(ServeSettings.minimumConsentTimeout).",
                    default: "\(ServeSettings.defaultConsentTimeout)"),
        ServeOption("resume-grace", "seconds",
                    "Seconds a participant whose WebSocket dropped keeps its place (media keeps flowing) and may resume with its resume token; 0: a dropped WebSocket removes at once.",
                    default: "\(ServeSettings.defaultResumeGrace)"),
        ServeOption("log-level", "level", "trace, debug, info, notice, warning, error or critical.", default: "info"),
        ServeOption("log-format", "text|json",
                    "text: one readable line per event; json: one JSON object per line (timestamp, level, label, message, metadata) for log collectors.",
                    default: "text"),
        ServeOption("web-root", "dir", "Serve the web client from this directory instead of the built-in one."),
        ServeOption("dtls-cert", "file",
                    "PEM certificate for DTLS (with --dtls-key). Default: a new ECDSA P-256 self-signed certificate per start."),
        ServeOption("dtls-key", "file", "PEM private key of --dtls-cert."),
        ServeOption("mix-speakers", "n",
                    "Speakers a room's audio mix holds at most, the loudest; 0: no limit. Only they get a mix-minus encode; every other mixed listener shares one.",
                    default: "\(ServeSettings.defaultMixSpeakers)"),
        ServeOption("ice-servers", "urls",
                    "STUN and TURN servers handed to clients in `joined`, comma-separated: stun:host:port, turn:host:port?transport=tcp, turns:host:port. TURN URLs need --turn-secret. Default: none (UDP and ICE-TCP to the media port only)."),
        ServeOption("turn-secret", "secret",
                    "The secret shared with the TURN server (coturn static-auth-secret with use-auth-secret): each participant gets a credential made from it at join. Prefer COHORT_TURN_SECRET: flags show in `ps`.",
                    secret: true),
        ServeOption("turn-credential-ttl", "seconds", "Seconds a participant's TURN credential stays valid after its join.",
                    default: "\(IceServerSettings.defaultCredentialTTL)"),
        ServeOption("waiting-room", "on|off",
                    "on: participants wait until a host admits them; hosts and co-hosts enter directly.", default: "off"),
        ServeOption("max-connections", "n",
                    "Open HTTP/WebSocket connections at most; more are closed at accept. A tenth of it may be WebSockets not yet joined.",
                    default: "\(ServeSettings.defaultMaxConnections)"),
        ServeOption("max-connections-per-address", "n",
                    "Open connections from one client address (IPv6: one /64) at most; a quarter of it may be WebSockets not yet joined. Raise it behind a reverse proxy.",
                    default: "\(ServeSettings.defaultMaxConnectionsPerAddress)"),
        ServeOption("allowed-origins", "origins",
                    "Web page origins, besides this server's own, that may open a WebSocket: comma-separated scheme://host[:port], or * for any. Clients that send no Origin (apps) are always let in."),
        ServeOption("single-use-tokens", "on|off",
                    "on: each token (its jti claim) admits one join; a used or jti-less token is refused (token-used, token-invalid).",
                    default: "off"),
        ServeOption("reserved-host-places", "n",
                    "Places of each session's 50 that only hosts and co-hosts may take, so participants never lock the therapist out.",
                    default: "\(ServeSettings.defaultReservedHostPlaces)"),
        ServeOption("max-joins-per-token", "n", "Joins of one person (the token's sub claim) present in a session at once.",
                    default: "\(ServeSettings.defaultMaxJoinsPerToken)"),
        ServeOption("joins-per-address-per-minute", "n",
                    "Joins from one client IP address per minute (a burst of that many, refilled over a minute); 0: no limit.",
                    default: "\(ServeSettings.defaultJoinsPerAddressPerMinute)"),
        ServeOption("records", "path|url|off",
                    "Attendance and audit records: an SQLite file (relative: to the working directory), created on first start, a postgres://user:password@host:port/database URL, or off.",
                    default: ServeSettings.defaultRecords),
        ServeOption("records-retention-days", "days", "Records older than this are deleted at start and daily (2555 days: 7 years).",
                    default: "\(ServeSettings.defaultRecordsRetentionDays)"),
        ServeOption("records-node", "name",
                    "This server's name in a PostgreSQL records database that several servers share; give each its own. Default: the host name."),
        ServeOption("shutdown-grace", "seconds",
                    "On SIGTERM or SIGINT, seconds to wait after every client was told `server-shutdown` before the records are flushed and the process exits; a service manager's stop timeout must be longer.",
                    default: "\(ServeSettings.defaultShutdownGrace)"),
        // Scale-out (docs/SCALE-OUT.md): no defaults here, so that giving
        // one of the last three without --directory can be refused.
        ServeOption("directory", "url",
                    "Scale-out: the session directory that several nodes share, postgres://user:password@host:port/database. Each session is placed on one node; joins elsewhere are redirected there. Records go there too unless --records is given. Default: none, one node."),
        ServeOption("public-url", "url",
                    "With --directory: the WebSocket URL clients use to reach this node, e.g. wss://node2.example.org/ws. Default: ws://<--http>/ws."),
        ServeOption("capacity", "n",
                    "With --directory: participants this node takes; full nodes get no new sessions. Default: \(ScaleOutSettings.defaultCapacity)."),
        ServeOption("node-dead-after", "seconds",
                    "With --directory: seconds without a heartbeat after which a node is dead and its sessions move on their next join. Default: \(ScaleOutSettings.defaultNodeDeadAfter)."),
        ServeOption("metrics", "public|host:port|off",
                    "Prometheus metrics (aggregate counts only): public serves GET /metrics on the --http listener; HOST:PORT serves it on a listener of its own instead (the public one answers 404); off serves none.",
                    default: "public"),
    ]

    /// The option named `name` (without dashes), if any.
    static func named(_ name: String) -> ServeOption? { all.first { $0.name == name } }

    /// The known name nearest to `name` (by edit distance, at most a third
    /// of its length), for "did you mean" hints; nil when none is close.
    static func nearest(to name: String) -> String? {
        let scored = all.map { ($0.name, editDistance(name, $0.name)) }.min { $0.1 < $1.1 }
        guard let (best, distance) = scored, distance <= max(2, name.count / 3) else { return nil }
        return best
    }

    /// Levenshtein distance, by characters; option names are short.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        // previous[j]: the distance between the first i-1 characters of a and the first j of b.
        var previous = Array(0...b.count)
        for i in a.indices {
            var current = [i + 1]
            for j in b.indices {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (a[i] == b[j] ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }

    /// The options as `--help` lists them: flag, variable, help, default.
    static var helpText: String {
        all.map { o in
            var line = "  \(o.flag) <\(o.valueName)>  (\(o.environmentVariable))\n      \(o.help)"
            if let d = o.defaultValue { line += " (default: \(d))" }
            return line
        }.joined(separator: "\n")
    }
}
