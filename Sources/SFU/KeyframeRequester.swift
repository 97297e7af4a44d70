import Wire

/// The keyframe-request manager of one published video stream: turns the
/// many reasons to want a keyframe (a subscriber's PLI or FIR, a slot
/// switch, a new subscriber, a `NackGenerator` restart) into few requests
/// to the publisher, as Picture Loss Indication (RFC 4585 §6.3.1) or Full
/// Intra Request (RFC 5104 §4.3.1).
///
/// The rules, in the order `poll(now:rtt:)` applies them:
///
/// - **Coalesced.** While a request is waiting or outstanding (sent, no
///   keyframe yet), further `request(now:)` calls cost nothing: the one
///   keyframe serves every subscriber that asked.
/// - **Retried.** An outstanding request is sent again when no keyframe has
///   arrived `max(2 × rtt, 300 ms)` after it was sent (the PLI or the
///   keyframe's first packets may be lost), at most `maxRetries` times;
///   then it is abandoned (a publisher whose video is paused sends no
///   keyframe however often asked) and the next `request` starts anew.
///   A retried FIR keeps its sequence number (RFC 5104 §4.3.1.2).
/// - **Rate-limited.** A new request is sent at once unless the last
///   keyframe arrived, or the last new request was sent, less than
///   `minInterval` (1 s) ago; then it waits until that second has passed.
///   So one lossy subscriber asking every 50 ms costs the others at most
///   one keyframe per second from this publisher, while a fresh subscriber
///   or a slot switch waits at most `minInterval`, and in the common case
///   (browsers send keyframes only when asked, so the last one is old)
///   not at all.
/// - **Cleared.** `keyframeArrived(now:)` ends the outstanding request and
///   any waiting one: whoever asked can decode from this keyframe.
///
/// A value type owned by its `PublishedStream`, used on the session's
/// loop; it never reads a clock and allocates nothing.
public struct KeyframeRequester {
    /// What to send to the publisher now.
    public enum Request: Equatable, Sendable {
        /// A Picture Loss Indication (RFC 4585 §6.3.1; `RTCPPictureLossIndication`).
        case pli
        /// A Full Intra Request (RFC 5104 §4.3.1; `RTCPFullIntraRequest`) with
        /// this command sequence number, new per request, repeated per retry.
        case fir(sequenceNumber: UInt8)
    }

    /// A request sent and not yet answered by a keyframe.
    private struct Outstanding {
        /// The FIR sequence number, given when first sent as a FIR.
        var firSequence: UInt8?
        /// When to retry (or, after `maxRetries`, to abandon).
        var retryAt: Instant
        /// Retries sent so far.
        var retries: Int
    }

    /// The round-trip time assumed while none has been measured.
    public static let defaultRTT = TimeSpan.milliseconds(100)
    /// The shortest wait for a keyframe before a retry, whatever the RTT.
    public static let minRetryInterval = TimeSpan.milliseconds(300)

    /// Send FIR instead of PLI: the engine sets this when the publisher
    /// negotiated `ccm fir` but not `nack pli` (RFC 5104 §7.1).
    public var useFIR: Bool
    /// The least time between a keyframe (or a new request) and the next new request.
    public let minInterval: TimeSpan
    /// Retries of one request before it is abandoned.
    public let maxRetries: Int

    /// A request waiting to be sent (rate limit), since when.
    private var waitingSince: Instant?
    /// The request sent and not yet answered, if any.
    private var outstanding: Outstanding?
    /// When the last keyframe arrived (rate limit).
    private var lastKeyframe: Instant?
    /// When the last new (not retried) request went out (rate limit).
    private var lastNewRequest: Instant?
    /// The FIR sequence number for the next new request (RFC 5104 §4.3.1.2).
    private var nextFIRSequence: UInt8 = 0

    /// Calls to `request(now:)`.
    public private(set) var requestsReceived = 0
    /// Requests that cost nothing: one was already waiting or outstanding.
    public private(set) var coalesced = 0
    /// PLIs returned by `poll`, retries included.
    public private(set) var plisSent = 0
    /// FIRs returned by `poll`, retries included.
    public private(set) var firsSent = 0
    /// Of those, retries of an outstanding request.
    public private(set) var retries = 0
    /// Outstanding requests given up after `maxRetries`.
    public private(set) var abandoned = 0
    /// Keyframes reported by `keyframeArrived(now:)`.
    public private(set) var keyframes = 0

    /// Creates a requester with nothing wanted.
    public init(useFIR: Bool = false, minInterval: TimeSpan = .seconds(1), maxRetries: Int = 2) {
        precondition(maxRetries >= 0, "maxRetries must not be negative")
        self.useFIR = useFIR
        self.minInterval = minInterval
        self.maxRetries = maxRetries
    }

    /// True while a request has been sent and no keyframe has answered it.
    public var isOutstanding: Bool { outstanding != nil }
    /// True while a request waits for the rate limit.
    public var isWaiting: Bool { waitingSince != nil }

    /// When `poll` has something to do next: a retry, or a waiting request's
    /// turn; nil when nothing is wanted.
    public var nextDeadline: Instant? {
        if let outstanding { return outstanding.retryAt }
        guard let waitingSince else { return nil }
        return Swift.max(waitingSince, earliestNewRequest ?? waitingSince)
    }

    /// Notes that a keyframe is wanted at `now` (a subscriber's PLI or FIR,
    /// a slot switch, a new subscriber). `poll` decides when to ask.
    public mutating func request(now: Instant) {
        requestsReceived += 1
        guard outstanding == nil, waitingSince == nil else {
            coalesced += 1
            return
        }
        waitingSince = now
    }

    /// The request to send to the publisher at `now`, if any; see the type's
    /// rules. `rtt` is the round-trip time to the publisher, nil when
    /// unknown (`defaultRTT`).
    public mutating func poll(now: Instant, rtt: TimeSpan?) -> Request? {
        let retryInterval = Swift.max((rtt ?? Self.defaultRTT) * 2, Self.minRetryInterval)
        if var sent = outstanding {
            guard now >= sent.retryAt else { return nil }
            guard sent.retries < maxRetries else {
                outstanding = nil
                abandoned += 1
                return nil
            }
            sent.retries += 1
            sent.retryAt = now + retryInterval
            retries += 1
            let request = send(&sent)
            outstanding = sent
            return request
        }
        guard let waitingSince, now >= Swift.max(waitingSince, earliestNewRequest ?? waitingSince) else {
            return nil
        }
        self.waitingSince = nil
        lastNewRequest = now
        var sent = Outstanding(firSequence: nil, retryAt: now + retryInterval, retries: 0)
        let request = send(&sent)
        outstanding = sent
        return request
    }

    /// Reports that the first packet of a keyframe arrived at `now` (see
    /// `VP8Keyframe.isKeyframeStart`): answers every request so far.
    public mutating func keyframeArrived(now: Instant) {
        keyframes += 1
        lastKeyframe = now
        outstanding = nil
        waitingSince = nil
    }

    /// The earliest a new request may go out, by the rate limit; nil when
    /// neither a keyframe nor a request has been seen.
    private var earliestNewRequest: Instant? {
        switch (lastKeyframe, lastNewRequest) {
        case let (k?, r?): return Swift.max(k, r) + minInterval
        case let (k?, nil): return k + minInterval
        case let (nil, r?): return r + minInterval
        case (nil, nil): return nil
        }
    }

    /// The message for `sent` in the current mode, counted. A FIR's
    /// sequence number is taken the first time this request goes out as FIR.
    private mutating func send(_ sent: inout Outstanding) -> Request {
        guard useFIR else {
            plisSent += 1
            return .pli
        }
        firsSent += 1
        if let sequence = sent.firSequence { return .fir(sequenceNumber: sequence) }
        let sequence = nextFIRSequence
        nextFIRSequence &+= 1
        sent.firSequence = sequence
        return .fir(sequenceNumber: sequence)
    }
}
