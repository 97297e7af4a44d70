import STUN
import Wire

/// The ICE-lite side of one participant's connection (RFC 8445 §2.5, §7.3).
///
/// Cohort never sends checks; it answers the full agent's Binding requests,
/// learns which remote addresses passed a check, takes the nominated one as
/// the address to send to, and tracks consent freshness from the checks it
/// receives (RFC 7675: a browser sends a check at least every 5 s).
public struct IceLiteAgent: Sendable {
    /// Our username fragment (ice-ufrag in our answer).
    public let localUfrag: String
    /// Our password (ice-pwd in our answer); keys MESSAGE-INTEGRITY.
    public let localPassword: String
    /// The peer's username fragment from its offer.
    public let remoteUfrag: String
    private let key: [UInt8]
    private let expectedUsername: String

    /// Addresses that passed a check, most recent last (bounded).
    public private(set) var validated: [StunAddress] = []
    /// The address media is sent to: the nominated one, or the last validated.
    public private(set) var selected: StunAddress?
    /// Whether the controlling agent has nominated a pair (USE-CANDIDATE).
    public private(set) var nominated = false
    /// When the last valid check arrived.
    public private(set) var lastConsent: Instant?

    /// How many validated addresses are remembered (a peer has few candidates).
    public static let maxValidated = 8

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

    /// Creates an agent with our credentials and the peer's ufrag.
    public init(localUfrag: String, localPassword: String, remoteUfrag: String) {
        self.localUfrag = localUfrag
        self.localPassword = localPassword
        self.remoteUfrag = remoteUfrag
        self.key = StunIntegrity.shortTermKey(password: localPassword)
        // RFC 8445 §7.2.2: USERNAME is "receiver's ufrag:sender's ufrag".
        self.expectedUsername = "\(localUfrag):\(remoteUfrag)"
    }

    /// The local ufrag a request is addressed to (the part before ":"), to find its agent.
    public static func localUfrag(of message: StunMessage) -> Substring? {
        guard let username = message.username, let colon = username.firstIndex(of: ":") else { return nil }
        return username[..<colon]
    }

    /// Whether `address` passed a check and may send us DTLS and media.
    public func isValidated(_ address: StunAddress) -> Bool { validated.contains(address) }

    /// Answers a Binding request from `source` (RFC 8445 §7.3).
    public mutating func handle(_ parsed: StunParsedMessage, from source: StunAddress, now: Instant) -> Outcome {
        let request = parsed.message
        guard request.type == StunMessageType(method: .binding, messageClass: .request) else {
            return .drop(.notBindingRequest)
        }
        guard request.username == expectedUsername else { return .drop(.wrongUsername) }
        do { try parsed.checkFingerprint() } catch { return .drop(.badFingerprint) }
        do {
            if !parsed.unknownComprehensionRequired.isEmpty {
                return .respond(try StunMessage.errorResponse(
                    to: request, error: try StunErrorCode(code: 420, reason: "Unknown Attribute"),
                    unknownAttributes: parsed.unknownComprehensionRequired))
            }
            do { try parsed.checkIntegrity(key: key) } catch {
                return .respond(try StunMessage.errorResponse(
                    to: request, error: try StunErrorCode(code: 401, reason: "Unauthenticated")))
            }
            // A lite agent is always controlled (RFC 8445 §6.1.1); a peer that
            // also claims to be controlled has a role conflict (§7.3.1.1).
            if request.iceControlled != nil {
                return .respond(try StunMessage.errorResponse(
                    to: request, error: try StunErrorCode(code: 487, reason: "Role Conflict"),
                    password: localPassword))
            }
            let response = try StunMessage.bindingSuccessResponse(to: request, source: source, password: localPassword)
            lastConsent = now
            if !validated.contains(source) {
                validated.append(source)
                if validated.count > Self.maxValidated { validated.removeFirst() }
            }
            if request.useCandidate {
                selected = source
                nominated = true
            } else if !nominated && selected == nil {
                // Regular nomination: media may start before USE-CANDIDATE.
                selected = source
            }
            return .respond(response)
        } catch {
            return .drop(.encodeFailed)
        }
    }

    /// Whether consent has lapsed: no valid check since `timeout` before `now`
    /// (RFC 7675 §5.1 uses 30 s). An agent that never had consent lapses
    /// `timeout` after `start`.
    public func consentExpired(now: Instant, timeout: TimeSpan, start: Instant) -> Bool {
        now - (lastConsent ?? start) > timeout
    }
}
