import ArgumentParser
import ControlPlane
import DTLS
import Directory
import Foundation
import Logging
import NIOCore
import NIOPosix
import Records
import Telemetry
import ServiceLifecycle
import Tokens

/// `cohort serve`: the control plane and the media relay until SIGTERM or
/// SIGINT, then the ordered shutdown (`ShutdownSequence`).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the relay: HTTP + WebSocket signaling, and UDP media.",
        discussion: """
            Each option below can also be set with its COHORT_* variable or as a key of the \
            --config file (the long name without dashes: `max-connections: 10000`). A flag wins \
            over the variable, which wins over the file, which wins over the default. On SIGTERM \
            or SIGINT the server stops accepting, ends media, tells every client `server-shutdown`, \
            waits --shutdown-grace seconds, flushes the records and exits 0.

            \(ServeOption.helpText)
            """)

    @Option(name: .customLong("config"), help: ArgumentHelp(
        "YAML file of options: `name: value` lines with the long names below. Env COHORT_CONFIG.", valueName: "file"))
    var config: String?

    @Flag(name: .customLong("print-config"), help: ArgumentHelp(
        "Print the effective configuration as YAML, with each value's source and the secrets redacted, and exit."))
    var printConfig = false

    /// Every other option, read against `ServeOption.all` (one table for
    /// flags, variables and file keys) rather than declared here one by one.
    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("The options listed below, as --name VALUE or --name=VALUE.",
                                                           valueName: "options"))
    var options: [String] = []

    /// The options given on the command line, by long name.
    func flags() throws(ServeFlagsError) -> ServeFlags { try ServeFlags.parse(options) }

    func validate() throws {
        do { _ = try flags() } catch { throw ValidationError(error.description) }
    }

    /// The settings from flags, environment and the --config file, and the
    /// inputs that know where each came from.
    func resolve(environment: [String: String]) throws(SettingsError) -> (ServeSettings, ServeInputs) {
        let file: ConfigFile?
        do { file = try ConfigFile.load(flag: config, environment: environment) } catch { throw .config(error) }
        let flags: ServeFlags
        do { flags = try self.flags() } catch { throw .flags(error) }
        var inputs = ServeInputs(flags: flags, environment: environment, file: file)
        return (try ServeSettings.resolve(&inputs), inputs)
    }

    func run() async throws {
        var settings: ServeSettings, inputs: ServeInputs
        let scaleOut: ScaleOutSettings?
        do {
            (settings, inputs) = try resolve(environment: ProcessInfo.processInfo.environment)
        } catch {
            throw ValidationError(error.description)
        }
        do {
            scaleOut = try ScaleOutSettings.resolve(&inputs, http: settings.http)
        } catch {
            throw ValidationError(error.description)
        }
        // Scale-out keeps the records in the directory's database unless --records says otherwise.
        let recordsInDirectory = scaleOut != nil && inputs.given("records") == nil
        if recordsInDirectory, let scaleOut { settings.records = scaleOut.directoryText }
        if printConfig {
            FileHandle.standardOutput.write(Data(PrintConfig.yaml(inputs).utf8))
            return
        }
        let level = settings.logLevel, format = settings.logFormat
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            case .json:
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
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
        // /readyz: ready once media is bound and the records store is open, until shutdown drains.
        let readiness = Readiness(recordsRequired: settings.records != nil)
        configuration.readiness = readiness
        let joinOutcomes = JoinOutcomes()
        configuration.joinOutcomes = joinOutcomes

        // Records first: a database that cannot be opened or written stops the start (docs/RECORDS.md).
        var records: RecordWriter?
        if let location = settings.records {
            // In scale-out the database may be down at start: the store connects on its first write.
            let store: any RecordBackend = try recordsInDirectory
                ? PostgresRecordStore(url: scaleOut!.directory, node: settings.recordsNode, connectNow: false)
                : RecordsDatabase.open(location, node: settings.recordsNode)
            records = RecordWriter(store: store, logger: logger, retentionDays: settings.recordsRetentionDays)
            configuration.records = RecordsHTTPSource(store: store)
            readiness.recordsOpen(true)
            logger.notice("records", metadata: ["database": "\(store.displayName)", "node": "\(settings.recordsNode)",
                                                "retentionDays": "\(settings.recordsRetentionDays)"])
        } else {
            logger.notice("records off: no attendance or audit records are written")
        }

        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let relay = MediaRelay(logger: logger, records: records, resumeGrace: settings.resumeGrace)
        relay.iceServers = settings.iceServers
        let metrics = settings.metrics == .off ? nil : CohortMetrics(gather: relay.metricsSamples, joins: joinOutcomes)
        if settings.metrics == .public { configuration.metrics = metrics }
        var metricsListener: MetricsListener?
        let server = ControlPlaneServer(configuration: configuration, delegate: relay, group: group, logger: logger)
        let address: SocketAddress
        do {
            let certificate: DTLSCertificate
            if let cert = settings.dtlsCert, let key = settings.dtlsKey {
                certificate = try DTLSCertificate(certificatePEMPath: cert, privateKeyPEMPath: key)
            } else {
                certificate = try DTLSCertificate()
            }
            let media = try await relay.start(group: group, host: settings.media.host, port: settings.media.port,
                                              announce: settings.announce, consentTimeout: settings.consentTimeout,
                                              waitingRoom: settings.waitingRoom, certificate: certificate,
                                              limits: MediaRelay.JoinLimits(
                                                  reservedHostPlaces: settings.reservedHostPlaces,
                                                  maxJoinsPerToken: settings.maxJoinsPerToken,
                                                  joinsPerAddressPerMinute: settings.joinsPerAddressPerMinute),
                                              mixSpeakers: settings.mixSpeakers)
            logger.notice("media listening", metadata: ["udp": "\(media.map { "\($0)" }.joined(separator: ", "))",
                                                        "ice-tcp": "the same ports",
                                                        "announce": "\(settings.announce)",
                                                        "fingerprint": "\(certificate.fingerprint.sdpValue)"])
            readiness.mediaBound()
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
            if case .listener(let at) = settings.metrics, let metrics {
                let listener = MetricsListener(source: metrics, group: group, logger: logger)
                do { _ = try await listener.start(host: at.host, port: at.port) } catch {
                    throw ValidationError("--metrics \(at): cannot listen there: \(error)")
                }
                metricsListener = listener
            }
        } catch {
            await server.shutdown()
            await relay.stop()
            records?.close()
            try? await group.shutdownGracefully()
            throw error
        }
        // The address and links are printed once SIGTERM is handled: whoever
        // waits for this line (tests, operators) may stop the server at once.
        let webClient = HostPort(host: settings.http.isUnspecified ? settings.announce : settings.http.host,
                                 port: address.port ?? settings.http.port)
        let demoLinks: String? = generated ? {
            let links = DemoLinks(signer: TokenSigner(secret: secret), session: settings.session,
                                  now: Int64(Date().timeIntervalSince1970))
            return """
                No --secret given; generated one for this run. Demo session "\(settings.session)":
                  host:        http://\(webClient)/#token=\(links.host)
                  participant: http://\(webClient)/#token=\(links.participant)

                """
        }() : nil
        let announceReady: @Sendable () -> Void = {
            // FileHandle writes unbuffered: print() would hold the links back when stdout is a pipe.
            FileHandle.standardOutput.write(Data("Cohort web client: http://\(webClient)/\n".utf8))
            if let demoLinks { FileHandle.standardOutput.write(Data(demoLinks.utf8)) }
        }

        // SIGTERM or SIGINT: these steps, one after the other (docs: deploy/README.md, "Stopping").
        let grace = settings.shutdownGrace
        let shutdown = ShutdownSequence.group([
            ShutdownStep("stop accepting") {
                logger.notice("shutting down", metadata: ["grace": "\(grace)"])
                readiness.drain()
                relay.stopJoins()
                await server.stopAccepting()
            },
            // Leave the directory: this node's sessions are placed elsewhere on their next join.
            ShutdownStep("leave directory") { await relay.directory?.stop() },
            // RTCP BYE for every stream, and the engines record everyone leaving.
            ShutdownStep("end media") { await relay.shutDownMedia() },
            // `server-shutdown` and close 1001 to every WebSocket; waits until all are closed.
            ShutdownStep("close websockets") { await server.shutdown() },
            // Joins and commands already inside an engine finish, BYEs and close frames drain.
            ShutdownStep("grace period") { try? await Task.sleep(for: Duration.seconds(grace)) },
            ShutdownStep("close media sockets") { await relay.stop() },
            ShutdownStep("close metrics listener") { [metricsListener] in await metricsListener?.stop() },
            ShutdownStep("flush records") { [records] in
                records?.close()
                readiness.recordsOpen(false)
            },
        ], limit: .seconds(grace + 30), logger: logger, started: announceReady)
        try await shutdown.run()
        try await group.shutdownGracefully()
        logger.notice("stopped")
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
