import DTLS
import Foundation
import LoadTest
import NIOCore
import Synchronization
import Tokens
import Wire

/// What every participant of a run shares; immutable after start.
final class RunContext: Sendable {
    let scenario: Scenario
    /// Where participants enter: each picks one at random (several nodes
    /// of one directory in scale-out; one server otherwise).
    let entries: [LoadTestTarget]
    let signer: TokenSigner
    let certificate: DTLSCertificate
    let audio: AudioClip
    /// What members past `speakersPerSession` send: encoded silence, as a
    /// microphone in a quiet room does (a mixer that checks a quiet-marked
    /// packet now and then must find it quiet).
    let silence: AudioClip
    let video: VideoPacketizer?
    let injector: LossInjector
    /// Upper bound of the random uplink delay (jitter injection).
    let jitter: TimeSpan
    /// Session ids are `<prefix>-<index>`.
    let sessionPrefix: String
    /// How receivers choose the packets they decrypt (each copies it).
    let sampler: ReceiveSampler
    /// Loss, jitter and latency from clear RTP headers, decrypting only
    /// `sampler`'s packets: unless every packet is decrypted, or the
    /// scenario injects loss (the injection is keyed by the probe, inside
    /// the encrypted payload).
    var headerStatistics: Bool {
        !sampler.decryptsAll && scenario.network.uplinkLossPercent == 0 && scenario.network.downlinkLossPercent == 0
    }
    /// When each session's host last sent a move or close, for the move latency.
    private let commands = Mutex<[Int: Instant]>([:])

    init(scenario: Scenario, entries: [LoadTestTarget], signer: TokenSigner,
         certificate: DTLSCertificate, audio: AudioClip, silence: AudioClip, sessionPrefix: String, sampler: ReceiveSampler = ReceiveSampler()) {
        self.scenario = scenario
        self.entries = entries
        self.signer = signer
        self.certificate = certificate
        self.audio = audio
        self.silence = silence
        video = scenario.media.video ? VideoPacketizer(kbps: scenario.media.videoKbps, fps: scenario.media.videoFPS) : nil
        injector = LossInjector(uplinkPercent: scenario.network.uplinkLossPercent,
                                downlinkPercent: scenario.network.downlinkLossPercent)
        jitter = .microseconds(Int64(scenario.network.jitterMs * 1_000))
        self.sessionPrefix = sessionPrefix
        self.sampler = sampler
    }

    func sessionID(_ index: Int) -> String { "\(sessionPrefix)-\(index)" }

    /// The host of `session` sent a command that moves people at `now`.
    func commandSent(session: Int, at now: Instant) { commands.withLock { $0[session] = now } }

    /// When the host of `session` last sent such a command.
    func lastCommand(session: Int) -> Instant? { commands.withLock { $0[session] } }

    /// A participant token for `origin` (host role for member 0).
    func token(for origin: OriginID) -> String {
        let now = Int64(Date().timeIntervalSince1970)
        return signer.mint(TokenClaims(session: sessionID(origin.session), name: name(origin),
                                       role: origin.member == 0 ? .host : .participant,
                                       expiresAt: now + 3_600, issuedAt: now, subject: "lt-\(origin.person)"))
    }

    func name(_ origin: OriginID) -> String { "lt s\(origin.session) m\(origin.member)" }

    /// The member index in a name made by `name(_:)`.
    static func member(fromName name: String) -> Int? {
        guard name.hasPrefix("lt s"), let m = name.split(separator: " ").last, m.hasPrefix("m") else { return nil }
        return Int(m.dropFirst())
    }
}

/// The harness's clock: NIO's monotonic uptime, shared by sender and
/// receiver (they are in one process), so one-way delay needs no sync.
enum Clock {
    static func now() -> Instant { Instant(nanoseconds: NIODeadline.now().uptimeNanoseconds) }
}

/// A WebSocket URL on loopback, split for NIO's client bootstrap.
struct LoadTestTarget: Sendable, Equatable {
    var host: String
    var port: Int
    var path: String

    /// `ws://127.x.y.z[:port]/path` or `ws://localhost...`; nil for anything
    /// else: this tool never connects beyond loopback, whoever redirects it.
    init?(loopbackURL url: String) {
        guard let u = URLComponents(string: url), u.scheme == "ws", let host = u.host else { return nil }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        let isLoopbackV4 = parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
        guard isLoopbackV4 || host == "localhost" else { return nil }
        self.host = host == "localhost" ? "127.0.0.1" : host
        port = u.port ?? 80
        path = (u.path.isEmpty ? "/ws" : u.path) + (u.query.map { "?\($0)" } ?? "")
    }
}
