import Wire

/// Which side of the DTLS handshake an endpoint plays (RFC 5763 §5: from
/// `a=setup`; "active" is the client).
public enum DTLSRole: Sendable, Equatable {
    /// Sends the ClientHello.
    case client
    /// Answers a ClientHello.
    case server
}

/// Tunables of a `DTLSEndpoint`. The defaults suit WebRTC over the Internet.
public struct DTLSConfiguration: Sendable {
    /// Time from `init` after which an unfinished handshake fails.
    public var handshakeTimeout: TimeSpan
    /// First retransmission timeout of a flight (RFC 6347 §4.2.4.1 suggests
    /// 1 s; WebRTC stacks start lower because ICE has already measured the path).
    public var initialRetransmitTimeout: TimeSpan
    /// Ceiling of the doubling retransmission timeout.
    public var maxRetransmitTimeout: TimeSpan
    /// Largest datagram the endpoint writes (UDP payload); OpenSSL fragments
    /// handshake messages to fit (RFC 6347 §4.2.3).
    public var mtu: Int
    /// Datagrams larger than this are dropped unread.
    public var maxDatagramSize: Int
    /// Outgoing datagrams held until `poll`; beyond this, new ones are dropped
    /// (and retransmission recovers them), so memory stays bounded.
    public var maxPendingTransmits: Int
    /// Events held until `poll`; application data beyond this is dropped.
    public var maxPendingEvents: Int

    /// Creates a configuration; see each property for its meaning.
    public init(handshakeTimeout: TimeSpan = .seconds(10),
                initialRetransmitTimeout: TimeSpan = .milliseconds(250),
                maxRetransmitTimeout: TimeSpan = .seconds(2),
                mtu: Int = 1200, maxDatagramSize: Int = 8192,
                maxPendingTransmits: Int = 64, maxPendingEvents: Int = 256) {
        self.handshakeTimeout = handshakeTimeout
        self.initialRetransmitTimeout = initialRetransmitTimeout
        self.maxRetransmitTimeout = maxRetransmitTimeout
        self.mtu = mtu
        self.maxDatagramSize = maxDatagramSize
        self.maxPendingTransmits = maxPendingTransmits
        self.maxPendingEvents = maxPendingEvents
    }
}

/// Where an endpoint stands.
public enum DTLSState: Equatable, Sendable {
    /// Handshake under way.
    case handshaking
    /// Handshake done, peer verified, keys exported.
    case connected
    /// Ended with a failure; nothing more is sent or exported.
    case failed(DTLSFailure)
    /// The peer sent close_notify (RFC 5246 §7.2.1).
    case closed
}

/// Something that happened, for the caller to act on.
public enum DTLSEvent: Equatable, Sendable {
    /// The handshake completed and the peer matched its fingerprint; the SRTP
    /// keys (RFC 5764 §4.2) are ready.
    case connected(SRTPKeyingMaterial)
    /// The endpoint failed; reported once.
    case failed(DTLSFailure)
    /// Application data from the peer (a data channel would sit here).
    case applicationData([UInt8])
    /// The peer closed the association with close_notify.
    case closed
}

/// One output of `DTLSEndpoint.poll()`.
public enum DTLSOutput: Equatable, Sendable {
    /// A datagram to send to the peer, as is.
    case transmit([UInt8])
    /// An event.
    case event(DTLSEvent)
}

/// Counters a transport can export as metrics.
public struct DTLSStatistics: Equatable, Sendable {
    /// Datagrams dropped before OpenSSL saw them: empty, too large, or not DTLS (RFC 7983).
    public var malformedDatagrams = 0
    /// Datagrams that arrived after the endpoint failed or closed.
    public var datagramsAfterEnd = 0
    /// Outgoing datagrams dropped because the queue was full.
    public var transmitsDropped = 0
    /// Flights that OpenSSL retransmitted itself (its wall-clock timer had expired).
    public var openSSLRetransmissions = 0
    /// Flights the endpoint resent from its own copy (the caller's clock ran ahead of the wall clock).
    public var replayedFlights = 0
    /// Creates zeroed counters.
    public init() {}
}
