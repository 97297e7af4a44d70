import Tokens
import Wire

/// Signalling resume (docs/PROTOCOL.md, `resume`): who may take over a
/// participant's signalling after its WebSocket dropped, and until when.
///
/// A value, sans-IO: time comes in as `now`, and `nextDeadline` says when
/// `expire(now:)` has work. The relay keeps one behind its lock and drives
/// it from its event loops; tests drive it with a manual clock.
///
/// Each participant holds one token at a time: issued at join, replaced at
/// every successful resume (so a token admits one resume), forgotten when
/// the participant leaves. A token is 32 bytes from OpenSSL's CSPRNG,
/// compared in constant time, and never logged.
public struct ResumeTokens: Sendable {
    /// Why a resume is refused. Which one is not told apart on the wire
    /// except `expired` (so a client can tell "too late" from "unknown here").
    public enum Refusal: Error, Equatable, Sendable {
        /// No participant by that id here, or the token is not its current
        /// one (stolen from another participant, already used, made up).
        case unknown
        /// The participant belongs to another session than the connection's.
        case wrongSession
        /// The participant was removed while away; `reason` is the removal's
        /// (`disconnected` when the grace period ran out).
        case ended(reason: String)
    }

    /// What the store knows of one participant.
    struct Entry: Sendable {
        var token: [UInt8]
        var session: String
        /// Set while no WebSocket carries the participant's signalling.
        var detachedUntil: Instant?
        /// Whether media ever connected (DTLS-SRTP up): only then is there
        /// media to keep flowing, and a dropped WebSocket starts a grace period.
        var mediaConnected = false
    }

    /// A participant removed while away: its last token is kept for
    /// `tombstoneLifetime`, so that a late resume learns why it was removed.
    struct Tombstone: Sendable {
        var participant: String
        var token: [UInt8]
        var reason: String
        var until: Instant
    }

    /// How long a participant may stay without signalling.
    public let grace: TimeSpan
    /// How long a removed participant's token still gets its reason.
    public static let tombstoneLifetime = TimeSpan.seconds(600)
    /// Most tombstones kept; the oldest go first.
    public static let maxTombstones = 10_000
    private var entries: [String: Entry] = [:]
    private var tombstones: [Tombstone] = []
    private let makeToken: @Sendable () -> [UInt8]

    /// - Parameter grace: time a participant whose WebSocket dropped keeps
    ///   its place; zero turns resume off (a drop removes at once).
    public init(grace: TimeSpan, makeToken: @escaping @Sendable () -> [UInt8] = ResumeTokens.randomToken) {
        self.grace = grace
        self.makeToken = makeToken
    }

    /// Whether a dropped WebSocket keeps the participant at all.
    public var enabled: Bool { grace.nanoseconds > 0 }

    /// 32 bytes from OpenSSL's CSPRNG.
    public static func randomToken() -> [UInt8] {
        Base64URL.decode(TokenSigner.randomSecret()) ?? []
    }

    /// A token for the participant that just joined `session` (its first).
    public mutating func issue(participant: String, session: String) -> String {
        let token = makeToken()
        entries[participant] = Entry(token: token, session: session)
        return Base64URL.encode(token)
    }

    /// The participant's media connected: from now on a dropped WebSocket
    /// starts a grace period instead of removing it.
    public mutating func mediaConnected(_ participant: String) {
        entries[participant]?.mediaConnected = true
    }

    /// The participant's WebSocket dropped at `now`. Returns the end of its
    /// grace period, or nil when it must be removed now (resume off, media
    /// never connected, or not known here).
    public mutating func detach(_ participant: String, now: Instant) -> Instant? {
        guard enabled, let entry = entries[participant], entry.mediaConnected else { return nil }
        let until = now + grace
        entries[participant]?.detachedUntil = until
        return until
    }

    /// A resume of `participant` with `token` from a connection whose session
    /// must be one of `sessions` (empty: any). On success the participant is
    /// attached again and the returned token replaces the one presented,
    /// which is now spent. A refusal changes nothing.
    public mutating func redeem(participant: String, token: String, sessions: [String], now: Instant)
        -> Result<String, Refusal> {
        let presented = Base64URL.decode(token) ?? []
        guard let entry = entries[participant] else {
            prune(now: now)
            if let stone = tombstones.last(where: { $0.participant == participant }),
               Self.constantTimeEqual(stone.token, presented) {
                return .failure(.ended(reason: stone.reason))
            }
            return .failure(.unknown)
        }
        guard Self.constantTimeEqual(entry.token, presented) else { return .failure(.unknown) }
        guard sessions.allSatisfy({ $0 == entry.session }) else { return .failure(.wrongSession) }
        if let until = entry.detachedUntil, until <= now {
            // Its removal is due and not yet done: it is too late all the same.
            return .failure(.ended(reason: "disconnected"))
        }
        let next = makeToken()
        entries[participant]?.token = next
        entries[participant]?.detachedUntil = nil
        return .success(Base64URL.encode(next))
    }

    /// The participant left the session for `reason` (any removal). If it
    /// was away, its token is kept for a while to tell a late resume why.
    public mutating func forget(_ participant: String, reason: String, now: Instant) {
        guard let entry = entries.removeValue(forKey: participant) else { return }
        guard entry.detachedUntil != nil else { return }
        prune(now: now)
        if tombstones.count >= Self.maxTombstones { tombstones.removeFirst() }
        tombstones.append(Tombstone(participant: participant, token: entry.token, reason: reason,
                                    until: now + Self.tombstoneLifetime))
    }

    /// Resume ends for `participant` without a trace (its session moved to
    /// another node): a dropped WebSocket then removes it at once.
    public mutating func withdraw(_ participant: String) {
        entries[participant] = nil
    }

    /// Participants whose grace period has ended by `now`, still away: the
    /// caller removes them (reason `disconnected`, as a drop did before).
    public func expired(now: Instant) -> [String] {
        entries.filter { $0.value.detachedUntil.map { $0 <= now } ?? false }.map(\.key).sorted()
    }

    /// The earliest end of a grace period, if anyone is away.
    public var nextDeadline: Instant? {
        entries.values.compactMap(\.detachedUntil).min()
    }

    /// Whether `participant` is away (its WebSocket dropped, not resumed).
    public func isDetached(_ participant: String) -> Bool {
        entries[participant]?.detachedUntil != nil
    }

    /// Participants known, and tombstones kept, for leak checks.
    public var counts: (participants: Int, tombstones: Int) { (entries.count, tombstones.count) }

    private mutating func prune(now: Instant) {
        tombstones.removeAll { $0.until <= now }
    }

    /// Equal length and bytes, in time that depends only on the length
    /// (tokens are all 32 bytes, so the length tells nothing).
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count, !a.isEmpty else { return false }
        var difference: UInt8 = 0
        for i in a.indices { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}
