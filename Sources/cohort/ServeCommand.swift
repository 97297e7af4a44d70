import ArgumentParser
import ControlPlane
import DTLS
import Directory
import Foundation
import Logging
import NIOCore
import NIOPosix
import Records
import Tokens

/// `cohort serve`: the control plane (and, later, the media relay) until SIGINT/SIGTERM.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the relay: HTTP + WebSocket signaling, and UDP media.")

    @Option(name: .customLong("http"), help: ArgumentHelp(
        "HTTP/WebSocket listen address, HOST:PORT. Env COHORT_HTTP. (default: \(ServeSettings.defaultHTTP))",
        valueName: "host:port"))
    var http: String?

    @Option(name: .customLong("media"), help: ArgumentHelp(
        "UDP media listen address (STUN, DTLS, SRTP on one port). Env COHORT_MEDIA. (default: \(ServeSettings.defaultMedia))",
        valueName: "host:port"))
    var media: String?

    @Option(name: .customLong("announce"), help: ArgumentHelp(
        "Address put in ICE candidates, the one clients can reach (e.g. the public IP behind NAT). Env COHORT_ANNOUNCE. (default: the --media host)",
        valueName: "address"))
    var announce: String?

    @Option(name: .customLong("secret"), help: ArgumentHelp(
        "HS256 token secret, at least 32 bytes. Prefer COHORT_SECRET: flags show in `ps`. If unset, a random secret is generated and demo host/participant links are printed.",
        valueName: "secret"))
    var secret: String?

    @Option(name: .customLong("session"), help: ArgumentHelp(
        "Serve only this session: tokens of every other session are refused. Also the session of the printed demo links. Env COHORT_SESSION. (default: any session; demo links for \(ServeSettings.defaultSession))",
        valueName: "id"))
    var session: String?

    @Option(name: .customLong("consent-timeout"), help: ArgumentHelp(
        "Seconds without ICE consent (RFC 7675) before a participant's media is dropped. At least \(ServeSettings.minimumConsentTimeout). Env COHORT_CONSENT_TIMEOUT. (default: \(ServeSettings.defaultConsentTimeout))",
        valueName: "seconds"))
    var consentTimeout: String?

    @Option(name: .customLong("log-level"), help: ArgumentHelp(
        "trace, debug, info, notice, warning, error or critical. Env COHORT_LOG_LEVEL. (default: info)",
        valueName: "level"))
    var logLevel: String?

    @Option(name: .customLong("web-root"), help: ArgumentHelp(
        "Serve the web client from this directory instead of the built-in one. Env COHORT_WEB_ROOT.",
        valueName: "dir"))
    var webRoot: String?

    @Option(name: .customLong("dtls-cert"), help: ArgumentHelp(
        "PEM certificate for DTLS (with --dtls-key). Env COHORT_DTLS_CERT. (default: a new ECDSA P-256 self-signed certificate per start)",
        valueName: "file"))
    var dtlsCert: String?

    @Option(name: .customLong("dtls-key"), help: ArgumentHelp(
        "PEM private key of --dtls-cert. Env COHORT_DTLS_KEY.", valueName: "file"))
    var dtlsKey: String?

    @Option(name: .customLong("waiting-room"), help: ArgumentHelp(
        "on: participants wait until a host admits them; hosts and co-hosts enter directly. Env COHORT_WAITING_ROOM. (default: off)",
        valueName: "on|off"))
    var waitingRoom: String?

    @Option(name: .customLong("max-connections"), help: ArgumentHelp(
        "Open HTTP/WebSocket connections at most; more are closed at accept. A tenth of it may be WebSockets not yet joined. Env COHORT_MAX_CONNECTIONS. (default: \(ServeSettings.defaultMaxConnections))",
        valueName: "n"))
    var maxConnections: String?

    @Option(name: .customLong("max-connections-per-address"), help: ArgumentHelp(
        "Open connections from one client address (IPv6: one /64) at most; a quarter of it may be WebSockets not yet joined. Raise it behind a reverse proxy. Env COHORT_MAX_CONNECTIONS_PER_ADDRESS. (default: \(ServeSettings.defaultMaxConnectionsPerAddress))",
        valueName: "n"))
    var maxConnectionsPerAddress: String?

    @Option(name: .customLong("allowed-origins"), help: ArgumentHelp(
        "Web page origins, besides this server's own, that may open a WebSocket: comma-separated scheme://host[:port], or * for any. Clients that send no Origin (apps) are always let in. Env COHORT_ALLOWED_ORIGINS.",
        valueName: "origins"))
    var allowedOrigins: String?

    @Option(name: .customLong("single-use-tokens"), help: ArgumentHelp(
        "on: each token (its jti claim) admits one join; a used or jti-less token is refused (token-used, token-invalid). Env COHORT_SINGLE_USE_TOKENS. (default: off)",
        valueName: "on|off"))
    var singleUseTokens: String?

    @Option(name: .customLong("reserved-host-places"), help: ArgumentHelp(
        "Places of each session's 50 that only hosts and co-hosts may take, so participants never lock the therapist out. Env COHORT_RESERVED_HOST_PLACES. (default: \(ServeSettings.defaultReservedHostPlaces))",
        valueName: "n"))
    var reservedHostPlaces: String?

    @Option(name: .customLong("max-joins-per-token"), help: ArgumentHelp(
        "Joins of one person (the token's sub claim) present in a session at once. Env COHORT_MAX_JOINS_PER_TOKEN. (default: \(ServeSettings.defaultMaxJoinsPerToken))",
        valueName: "n"))
    var maxJoinsPerToken: String?

    @Option(name: .customLong("joins-per-address-per-minute"), help: ArgumentHelp(
        "Joins from one client IP address per minute (a burst of that many, refilled over a minute); 0: no limit. Env COHORT_JOINS_PER_ADDRESS_PER_MINUTE. (default: \(ServeSettings.defaultJoinsPerAddressPerMinute))",
        valueName: "n"))
    var joinsPerAddressPerMinute: String?

    @Option(name: .customLong("records"), help: ArgumentHelp(
        "Attendance and audit records: an SQLite file, created on first start, a postgres://user:password@host:port/database URL, or off. Env COHORT_RECORDS. (default: \(ServeSettings.defaultRecords) in the working directory)",
        valueName: "path|url|off"))
    var records: String?

    @Option(name: .customLong("records-retention-days"), help: ArgumentHelp(
        "Records older than this are deleted at start and daily. Env COHORT_RECORDS_RETENTION_DAYS. (default: \(ServeSettings.defaultRecordsRetentionDays), 7 years)",
        valueName: "days"))
    var recordsRetentionDays: String?

    @Option(name: .customLong("records-node"), help: ArgumentHelp(
        "This server's name in a PostgreSQL records database that several servers share; give each its own. Env COHORT_RECORDS_NODE. (default: the host name)",
        valueName: "name"))
    var recordsNode: String?

    // MARK: Scale-out (docs/SCALE-OUT.md)

    @Option(name: .customLong("directory"), help: ArgumentHelp(
        "Scale-out: the session directory that several nodes share, postgres://user:password@host:port/database. Each session is placed on one node; joins elsewhere are redirected there. Records go there too unless --records is given. Env COHORT_DIRECTORY. (default: none, one node)",
        valueName: "url"))
    var directory: String?

    @Option(name: .customLong("public-url"), help: ArgumentHelp(
        "With --directory: the WebSocket URL clients use to reach this node, e.g. wss://node2.example.org/ws. Env COHORT_PUBLIC_URL. (default: ws://<--http>/ws)",
        valueName: "url"))
    var publicURL: String?

    @Option(name: .customLong("capacity"), help: ArgumentHelp(
        "With --directory: participants this node takes; full nodes get no new sessions. Env COHORT_CAPACITY. (default: \(ScaleOutSettings.defaultCapacity))",
        valueName: "n"))
    var capacity: String?

    @Option(name: .customLong("node-dead-after"), help: ArgumentHelp(
        "With --directory: seconds without a heartbeat after which a node is dead and its sessions move on their next join. Env COHORT_NODE_DEAD_AFTER. (default: \(ScaleOutSettings.defaultNodeDeadAfter))",
        valueName: "seconds"))
    var nodeDeadAfter: String?

    var scaleOutFlags: ScaleOutFlags {
        ScaleOutFlags(directory: directory, publicURL: publicURL, capacity: capacity, nodeDeadAfter: nodeDeadAfter)
    }

    var flags: ServeFlags {
        ServeFlags(http: http, media: media, announce: announce, secret: secret, session: session,
                   consentTimeout: consentTimeout, logLevel: logLevel, webRoot: webRoot, waitingRoom: waitingRoom,
                   maxConnections: maxConnections, maxConnectionsPerAddress: maxConnectionsPerAddress,
                   allowedOrigins: allowedOrigins, singleUseTokens: singleUseTokens,
                   reservedHostPlaces: reservedHostPlaces, maxJoinsPerToken: maxJoinsPerToken,
                   joinsPerAddressPerMinute: joinsPerAddressPerMinute,
                   records: records, recordsRetentionDays: recordsRetentionDays, recordsNode: recordsNode)
    }

    func run() async throws {
        var settings: ServeSettings
        let scaleOut: ScaleOutSettings?
        do {
            settings = try ServeSettings.resolve(flags, environment: ProcessInfo.processInfo.environment)
            scaleOut = try ScaleOutSettings.resolve(scaleOutFlags, environment: ProcessInfo.processInfo.environment,
                                                    http: settings.http)
        } catch let error as ScaleOutSettingsError {
            throw ValidationError(error.description)
        } catch {
            throw ValidationError("\(error)")
        }
        // Scale-out keeps the records in the directory's database unless told otherwise.
        let recordsInDirectory = scaleOut != nil && records == nil
            && (ProcessInfo.processInfo.environment["COHORT_RECORDS"] ?? "").isEmpty
        if recordsInDirectory, let scaleOut { settings.records = scaleOut.directoryText }
        let level = settings.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "cohort")

        let generated = settings.secret == nil
        let secret = settings.secret ?? TokenSigner.randomSecret()
        let files = try settings.webRoot.map { (dir: String) throws(ControlPlaneError) in try StaticFiles(directory: dir) }
            ?? StaticFiles.bundled()
        var configuration = ControlPlaneConfiguration(
            host: settings.http.host, port: settings.http.port,
            signer: TokenSigner(secret: secret, leeway: 30), expectedSession: settings.restrictedSession, staticFiles: files)
        configuration.limits = ConnectionLimits(maxConnections: settings.maxConnections,
                                                maxConnectionsPerAddress: settings.maxConnectionsPerAddress)
        configuration.origins = OriginPolicy(allowed: settings.allowedOrigins)
        let peerOrigins = PeerOrigins()
        if scaleOut != nil { configuration.origins.peers = peerOrigins }
        if settings.singleUseTokens { configuration.singleUseTokens = TokenReplayGuard(leeway: 30) }
        FileLimit.ensure(room: settings.maxConnections, logger: logger)

        // Records first: a database that cannot be opened or written stops the start (docs/RECORDS.md).
        var records: RecordWriter?
        if let location = settings.records {
            // In scale-out the database may be down at start: the store connects on its first write.
            let store: any RecordBackend = try recordsInDirectory
                ? PostgresRecordStore(url: scaleOut!.directory, node: settings.recordsNode, connectNow: false)
                : RecordsDatabase.open(location, node: settings.recordsNode)
            records = RecordWriter(store: store, logger: logger, retentionDays: settings.recordsRetentionDays)
            configuration.records = RecordsHTTPSource(store: store)
            logger.notice("records", metadata: ["database": "\(store.displayName)", "node": "\(settings.recordsNode)",
                                                "retentionDays": "\(settings.recordsRetentionDays)"])
        } else {
            logger.notice("records off: no attendance or audit records are written")
        }

        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let relay = MediaRelay(logger: logger, records: records)
        let server = ControlPlaneServer(configuration: configuration, delegate: relay, group: group, logger: logger)
        let address: SocketAddress
        do {
            let environment = ProcessInfo.processInfo.environment
            let certificate: DTLSCertificate
            switch (dtlsCert ?? environment["COHORT_DTLS_CERT"], dtlsKey ?? environment["COHORT_DTLS_KEY"]) {
            case (let cert?, let key?): certificate = try DTLSCertificate(certificatePEMPath: cert, privateKeyPEMPath: key)
            case (nil, nil): certificate = try DTLSCertificate()
            default: throw ValidationError("--dtls-cert and --dtls-key go together")
            }
            let media = try await relay.start(group: group, host: settings.media.host, port: settings.media.port,
                                              announce: settings.announce, consentTimeout: settings.consentTimeout,
                                              waitingRoom: settings.waitingRoom, certificate: certificate,
                                              limits: MediaRelay.JoinLimits(
                                                  reservedHostPlaces: settings.reservedHostPlaces,
                                                  maxJoinsPerToken: settings.maxJoinsPerToken,
                                                  joinsPerAddressPerMinute: settings.joinsPerAddressPerMinute))
            logger.notice("media listening", metadata: ["udp": "\(media.map { "\($0)" }.joined(separator: ", "))",
                                                        "announce": "\(settings.announce)",
                                                        "fingerprint": "\(certificate.fingerprint.sdpValue)"])
            if let scaleOut {
                let directory = try PostgresDirectory(
                    url: scaleOut.directory,
                    node: .init(id: settings.recordsNode, publicURL: scaleOut.publicURL,
                                mediaAddress: "\(HostPort(host: settings.announce, port: media.first?.port ?? 0))",
                                capacity: scaleOut.capacity),
                    deadAfter: .seconds(scaleOut.nodeDeadAfter), logger: logger, status: { [relay] in relay.localStatus },
                    peerPages: { peerOrigins.replace(with: $0) }, lostSessions: { [relay] in relay.evict(sessions: $0) })
                relay.directory = directory
                await directory.start()
            }
            address = try await server.start()
        } catch {
            await relay.stop()
            records?.close()
            try? await group.shutdownGracefully()
            throw error
        }
        FileHandle.standardOutput.write(Data("Cohort web client: http://\(HostPort(host: settings.http.isUnspecified ? settings.announce : settings.http.host, port: address.port ?? settings.http.port))/\n".utf8))
        if generated {
            let linkHost = settings.http.isUnspecified ? settings.announce : settings.http.host
            let base = "http://\(HostPort(host: linkHost, port: address.port ?? settings.http.port))/"
            let links = DemoLinks(signer: TokenSigner(secret: secret), session: settings.session,
                                  now: Int64(Date().timeIntervalSince1970))
            // FileHandle writes unbuffered: print() would hold the links back when stdout is a pipe.
            FileHandle.standardOutput.write(Data("""
                No --secret given; generated one for this run. Demo session "\(settings.session)":
                  host:        \(base)#token=\(links.host)
                  participant: \(base)#token=\(links.participant)

                """.utf8))
        }

        let signal = await TerminationSignal.wait()
        logger.info("shutting down", metadata: ["signal": "\(signal)"])
        // No new connections; media ends (RTCP BYE); then every WebSocket
        // gets `server-shutdown` and close 1001.
        await server.stopAccepting()
        // Leave the directory first: its sessions are placed elsewhere on their next join.
        await relay.directory?.stop()
        await relay.shutDownMedia()
        await server.shutdown()
        await relay.stop()
        records?.close()
        try await group.shutdownGracefully()
    }
}

/// Tokens for the links printed when the secret was generated.
struct DemoLinks {
    /// How long demo links work.
    static let ttl: Int64 = 12 * 3600
    var host: String
    var participant: String

    init(signer: TokenSigner, session: String, now: Int64) {
        host = signer.mint(TokenClaims(session: session, name: "Host", role: .host,
                                       expiresAt: now + Self.ttl, issuedAt: now, subject: "demo-host",
                                       tokenID: TokenSigner.randomTokenID()))
        // One identity for everyone who opens it: per-person links come from `cohort token --sub`.
        participant = signer.mint(TokenClaims(session: session, name: "Participant", role: .participant,
                                              expiresAt: now + Self.ttl, issuedAt: now, subject: "demo-participant",
                                              tokenID: TokenSigner.randomTokenID()))
    }
}
