import STUN
import Wire

/// The ICE-lite side of one participant's connection (RFC 8445 §2.5, §7.3).
///
/// Cohort answers the full agent's Binding requests, learns which remote
/// addresses passed a check, takes the nominated one as the address to send
/// to, and tracks consent freshness from the checks it receives (RFC 7675: a
/// browser sends a check at least every 5 s).
///
/// Return routability (issue 14): the first address a participant checks
/// from is used at once (only the participant and the control plane know
/// the credentials, and until DTLS completes from a validated address no
/// media flows, so join time stays one round trip). Every later address is
/// used only after it answers our own Binding request (an RFC 7675 consent
/// check signed with the participant's password; `RoutabilityChecks`), so a
/// spoofed check cannot redirect media. A full agent answers requests in
/// either role (RFC 8445 §7.3), browsers and aiortc included.
///
/// ICE restart (issue 13, RFC 8445 §9): `restart` installs new credentials
/// of both sides. The old ones keep answering on addresses already
/// validated, so the call goes on until the peer's first valid check with
/// the new ones; that check retires them (`Output.retired`), forgets the old
/// session's addresses and makes its own address the media path, as at join.
///
/// Sans-IO: `handle` and `handleTimeout` take the time; what to send and
/// which addresses became valid or were forgotten come out of `poll()`.
public struct IceLiteAgent: Sendable {
    /// One ICE session's credentials (RFC 8445 §5.3): ours and the peer's,
    /// and the keys and USERNAME derived from them.
    struct Credentials: Sendable {
        let localUfrag: String
        let localPassword: String
        let remoteUfrag: String
        let remotePassword: String
        let key: [UInt8]
        let remoteKey: [UInt8]
        let expectedUsername: String

        init(localUfrag: String, localPassword: String, remoteUfrag: String, remotePassword: String) {
            precondition(localUfrag.utf8.count == IceLiteAgent.ufragLength, "our ufrags have \(IceLiteAgent.ufragLength) characters")
            self.localUfrag = localUfrag
            self.localPassword = localPassword
            self.remoteUfrag = remoteUfrag
            self.remotePassword = remotePassword
            self.key = StunIntegrity.shortTermKey(password: localPassword)
            self.remoteKey = StunIntegrity.shortTermKey(password: remotePassword)
            // RFC 8445 §7.2.2: USERNAME is "receiver's ufrag:sender's ufrag".
            self.expectedUsername = "\(localUfrag):\(remoteUfrag)"
        }
    }

    /// The current ICE session's credentials (the latest offer and answer).
    private var current: Credentials
    /// The credentials before an ICE restart (RFC 8445 §9), still answered
    /// on already validated addresses until the peer's first valid check
    /// with the new ones: the browser keeps media on its old pair until the
    /// new one is nominated, so the call goes on while the restart completes.
    private var previous: Credentials?
    /// The previous media path, kept until the first check with the new credentials.
    private var selectedBeforeRestart: StunAddress?

    /// Our username fragment (ice-ufrag in our latest answer).
    public var localUfrag: String { current.localUfrag }
    /// Our password (ice-pwd in our latest answer); keys MESSAGE-INTEGRITY.
    public var localPassword: String { current.localPassword }
    /// The peer's username fragment from its latest offer.
    public var remoteUfrag: String { current.remoteUfrag }
    /// The peer's password from its latest offer; keys our own checks (RFC 8445 §7.2.2).
    public var remotePassword: String { current.remotePassword }
    /// Every local ufrag this agent answers to: the current one, and the one
    /// before a restart until the new one is in use. The engine finds the
    /// agent by these.
    public var answeredUfrags: [String] { [current.localUfrag] + (previous.map { [$0.localUfrag] } ?? []) }
    /// Whether a restart waits for the peer's first check with the new credentials.
    public var restartPending: Bool { previous != nil }
    private let tieBreaker: UInt64
    private var checks = RoutabilityChecks()
    private var outputs: [Output] = []

    /// Addresses that passed a check, most recent last (bounded).
    public private(set) var validated: [StunAddress] = []
    /// The address media is sent to: the nominated one, or the last validated.
    public private(set) var selected: StunAddress?
    /// Whether the controlling agent has nominated a pair (USE-CANDIDATE).
    public private(set) var nominated = false
    /// When the latest valid check from `selected` arrived.
    private var lastCheckFromSelected: Instant?
    /// When the last valid check arrived.
    public private(set) var lastConsent: Instant?

    /// How many validated addresses are remembered (a peer has few candidates).
    public static let maxValidated = 8

    /// What the agent asks of its owner, in order (`poll()`).
    public enum Output: Equatable, Sendable {
        /// Send this Binding request (a return-routability check) to the address.
        case transmit([UInt8], to: StunAddress)
        /// The address passed ICE: DTLS and media from it belong to this participant.
        case validated(StunAddress)
        /// The address is no longer valid (evicted from `validated`).
        case forgotten(StunAddress)
        /// A check went unanswered (or the queue was full) and the address was dropped.
        case unverified(StunAddress?)
        /// Media now goes to this address instead of another one.
        case selected(StunAddress)
        /// An ICE restart completed: this local ufrag is no longer answered.
        case retired(String)
    }

    /// The outcome of one Binding request.
    public enum Outcome: Equatable, Sendable {
        /// Answer with these bytes.
        case respond([UInt8])
        /// Not for this agent or not answerable: drop and count.
        case drop(DropReason)
    }

    /// Why a STUN message was dropped.
    public enum DropReason: String, Equatable, Sendable {
        /// Not a Binding request (responses and indications are not expected by a lite agent).
        case notBindingRequest
        /// USERNAME missing or not ours.
        case wrongUsername
        /// FINGERPRINT missing or wrong (RFC 8445 §7.3: checks carry it).
        case badFingerprint
        /// Could not build the response.
        case encodeFailed
    }

    /// The length of a local ufrag: the first bytes of our checks' transaction ids.
    public static let ufragLength = 8

    /// Creates an agent with our credentials (a ufrag of `ufragLength`
    /// ASCII characters) and the peer's ufrag and password.
    public init(localUfrag: String, localPassword: String, remoteUfrag: String, remotePassword: String,
                tieBreaker: UInt64) {
        self.current = Credentials(localUfrag: localUfrag, localPassword: localPassword,
                                   remoteUfrag: remoteUfrag, remotePassword: remotePassword)
        self.tieBreaker = tieBreaker
    }

    /// Starts a new ICE session with new credentials (an ICE restart, RFC
    /// 8445 §9, RFC 8839 §4.4.1.1.1). The media path and the addresses
    /// validated so far stay in use, answered under the credentials in use
    /// before, until the peer's first valid check with the new ones; then
    /// those are retired and the new session starts from nothing (the first
    /// address checking with the new credentials is the media path, as at
    /// join). Returns the local ufrag that stops being answered now: the
    /// one of an earlier restart the peer never used, if any.
    public mutating func restart(localUfrag: String, localPassword: String, remoteUfrag: String,
                                 remotePassword: String) -> String? {
        let new = Credentials(localUfrag: localUfrag, localPassword: localPassword,
                              remoteUfrag: remoteUfrag, remotePassword: remotePassword)
        var dropped: String?
        if previous == nil { previous = current } else { dropped = current.localUfrag }
        current = new
        // Checks in flight were signed with the old peer password: their answers no longer count.
        checks = RoutabilityChecks()
        return dropped
    }

    /// The peer used the new credentials: the old ones stop working and the
    /// old session's addresses are forgotten (RFC 8445 §9: a restart starts
    /// the checks afresh). The media path moves to the first new address.
    private mutating func finishRestart() {
        guard let old = previous else { return }
        previous = nil
        outputs.append(.retired(old.localUfrag))
        selectedBeforeRestart = selected
        for address in validated { outputs.append(.forgotten(address)) }
        validated = []
        selected = nil
        nominated = false
        lastCheckFromSelected = nil
    }

    /// The local ufrag a request is addressed to (the part before ":"), to find its agent.
    public static func localUfrag(of message: StunMessage) -> Substring? {
        guard let username = message.username, let colon = username.firstIndex(of: ":") else { return nil }
        return username[..<colon]
    }

    /// The local ufrag a response is for: our checks' transaction ids start
    /// with our ufrag, so a response finds its agent the way a request does.
    public static func localUfrag(ofResponse message: StunMessage) -> String? {
        let prefix = message.transactionID.bytes.prefix(ufragLength)
        guard prefix.allSatisfy({ $0 >= 0x21 && $0 < 0x7F }) else { return nil }
        return String(decoding: prefix, as: UTF8.self)
    }

    /// The next output, or nil when there is none.
    public mutating func poll() -> Output? { outputs.isEmpty ? nil : outputs.removeFirst() }

    /// Addresses waiting for, or awaiting the answer to, a return-routability check.
    public var pendingAddresses: [StunAddress] { checks.pending.map(\.address) }

    /// When `handleTimeout` next has work: a queued check may go, or one expires.
    public var nextDeadline: Instant? { checks.nextDeadline }

    /// Whether `address` passed a check and may send us DTLS and media.
    public func isValidated(_ address: StunAddress) -> Bool { validated.contains(address) }

    /// Answers a Binding request from `source` (RFC 8445 §7.3).
    public mutating func handle(_ parsed: StunParsedMessage, from source: StunAddress, now: Instant) -> Outcome {
        let request = parsed.message
        guard request.type == StunMessageType(method: .binding, messageClass: .request) else {
            return .drop(.notBindingRequest)
        }
        let credentials: Credentials
        if request.username == current.expectedUsername {
            credentials = current
        } else if let previous, request.username == previous.expectedUsername {
            // Before the restart's credentials are in use, the old ones keep
            // the old paths alive; they cannot add a new address.
            credentials = previous
        } else {
            return .drop(.wrongUsername)
        }
        let usesPrevious = previous != nil && credentials.localUfrag == previous?.localUfrag
        do { try parsed.checkFingerprint() } catch { return .drop(.badFingerprint) }
        do {
            if !parsed.unknownComprehensionRequired.isEmpty {
                return .respond(try StunMessage.errorResponse(
                    to: request, error: try StunErrorCode(code: 420, reason: "Unknown Attribute"),
                    unknownAttributes: parsed.unknownComprehensionRequired))
            }
            do { try parsed.checkIntegrity(key: credentials.key) } catch {
                return .respond(try StunMessage.errorResponse(
                    to: request, error: try StunErrorCode(code: 401, reason: "Unauthenticated")))
            }
            // A lite agent is always controlled (RFC 8445 §6.1.1); a peer that
            // also claims to be controlled has a role conflict (§7.3.1.1).
            if request.iceControlled != nil {
                return .respond(try StunMessage.errorResponse(
                    to: request, error: try StunErrorCode(code: 487, reason: "Role Conflict"),
                    password: credentials.localPassword))
            }
            let response = try StunMessage.bindingSuccessResponse(to: request, source: source,
                                                                  password: credentials.localPassword)
            if usesPrevious {
                guard validated.contains(source) else {
                    outputs.append(.unverified(source))
                    return .respond(response)
                }
                lastConsent = now
                if source == selected { lastCheckFromSelected = now }
                return .respond(response)
            }
            lastConsent = now
            finishRestart()
            defer {
                if let before = selectedBeforeRestart, let after = selected {
                    selectedBeforeRestart = nil
                    if after != before { outputs.append(.selected(after)) }
                }
            }
            if validated.contains(source) || validated.isEmpty {
                accept(source, nominate: request.useCandidate, now: now)
                if source == selected { lastCheckFromSelected = now }
            } else if checks.want(source, nominate: request.useCandidate) {
                sendChecks(now: now)
            } else {
                outputs.append(.unverified(source))
            }
            return .respond(response)
        } catch {
            return .drop(.encodeFailed)
        }
    }

    /// Takes a response to one of our checks (RFC 8445 §7.2.5): a success
    /// from the address the check went to, signed with the peer's password,
    /// validates that address. Returns false when it was not ours or not valid.
    public mutating func handleResponse(_ parsed: StunParsedMessage, from source: StunAddress, now: Instant) -> Bool {
        let response = parsed.message
        guard response.type.method == .binding, checks.isInFlight(response.transactionID, to: source) else { return false }
        do {
            if parsed.fingerprintOffset != nil { try parsed.checkFingerprint() }
            try parsed.checkIntegrity(key: current.remoteKey)
        } catch { return false }
        guard let entry = checks.answered(response.transactionID, from: source) else { return false }
        guard response.type.messageClass == .successResponse else {
            outputs.append(.unverified(source))
            return true
        }
        lastConsent = now
        accept(entry.address, nominate: entry.nominate, now: now)
        return true
    }

    /// Sends queued checks the rate allows and drops unanswered ones.
    public mutating func handleTimeout(now: Instant) {
        for _ in 0..<checks.expire(now: now) { outputs.append(.unverified(nil)) }
        sendChecks(now: now)
    }

    /// Makes `address` valid (evicting the oldest address that is not the
    /// media path when full) and selects it as RFC 8445 §7.3.1.5 allows.
    private mutating func accept(_ address: StunAddress, nominate: Bool, now: Instant) {
        let before = selected
        defer { if let before, selected != before, let after = selected { outputs.append(.selected(after)) } }
        checks.forget(address)
        if !validated.contains(address) {
            validated.append(address)
            outputs.append(.validated(address))
            if validated.count > Self.maxValidated, let i = validated.firstIndex(where: { $0 != selected && $0 != address }) {
                outputs.append(.forgotten(validated.remove(at: i)))
            }
        }
        if nominate {
            if selected != address { lastCheckFromSelected = now }
            selected = address
            nominated = true
        } else if nominated, selected != address, let last = lastCheckFromSelected, now - last > Self.selectedQuiet {
            // The peer moved (NAT rebinding, a network change) and checks from
            // here only, without USE-CANDIDATE (aiortc's consent checks carry
            // none): media follows once the selected address has gone quiet.
            selected = address
            lastCheckFromSelected = now
        } else if !nominated && selected == nil {
            // Regular nomination: media may start before USE-CANDIDATE.
            selected = address
            lastCheckFromSelected = now
        }
    }

    /// Sends the next queued check if the rate allows: a Binding request
    /// from the controlled side (RFC 8445 §7.2.2, §7.1.1), signed with the
    /// peer's password, its transaction id starting with our ufrag.
    private mutating func sendChecks(now: Instant) {
        var random = SystemRandomNumberGenerator()
        // 8 ufrag bytes, then 32 random bits: the response must also carry
        // MESSAGE-INTEGRITY under the peer's password, which no one else has.
        let ufrag = localUfrag.utf8.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard let (address, id) = checks.nextToSend(now: now, transaction: {
            StunTransactionID(high: UInt32(truncatingIfNeeded: ufrag >> 32),
                              low: (ufrag & 0xFFFF_FFFF) << 32 | UInt64(UInt32.random(in: 0...UInt32.max, using: &random)))
        }) else { return }
        let request = StunMessage(
            type: StunMessageType(method: .binding, messageClass: .request), transactionID: id,
            attributes: [.username("\(remoteUfrag):\(localUfrag)"), .priority(Self.hostPriority),
                         .iceControlled(tieBreaker)])
        guard let bytes = try? request.encode(integrityKey: current.remoteKey, fingerprint: true) else {
            checks.forget(address)
            return
        }
        outputs.append(.transmit(bytes, to: address))
    }

    /// How long the selected address must have sent no check before a
    /// verified address takes over without USE-CANDIDATE: longer than the
    /// 2.5 s at which browsers ping their selected pair, shorter than the
    /// 4-6 s of aiortc's consent checks.
    static let selectedQuiet = TimeSpan.seconds(3)

    /// The priority of our one host candidate (RFC 8445 §5.1.2.1: type
    /// preference 126, local preference 65535, component 1).
    static let hostPriority: UInt32 = (1 << 24) * 126 + (1 << 8) * 65_535 + 255

    /// Whether consent has lapsed: no valid check since `timeout` before `now`
    /// (RFC 7675 §5.1 uses 30 s). An agent that never had consent lapses
    /// `timeout` after `start`.
    public func consentExpired(now: Instant, timeout: TimeSpan, start: Instant) -> Bool {
        now - (lastConsent ?? start) > timeout
    }
}
