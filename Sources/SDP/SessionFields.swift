/// `o=` (RFC 8866 §5.2): who made the description, and which version it is.
public struct Origin: Hashable, Sendable {
    /// The user's login, or `-`.
    public var username: String
    /// A numeric string (RFC 8866 §5.2); kept as text because some stacks exceed 64 bits.
    public var sessionID: String
    /// Incremented on each new version of the description (RFC 3264 §8).
    public var sessionVersion: UInt64
    /// `IN`.
    public var networkType: String
    /// `IP4` or `IP6`.
    public var addressType: String
    /// The originating host; WebRTC stacks put a placeholder here (RFC 8829 §5.2.1).
    public var address: String

    /// Creates an origin; the defaults are JSEP's (RFC 8829 §5.2.1).
    public init(username: String = "-", sessionID: String, sessionVersion: UInt64,
                networkType: String = "IN", addressType: String = "IP4", address: String = "127.0.0.1") {
        self.username = username
        self.sessionID = sessionID
        self.sessionVersion = sessionVersion
        self.networkType = networkType
        self.addressType = addressType
        self.address = address
    }

    /// Parses the text after `o=`.
    public init(fieldValue: Substring) throws(SDPError.Reason) {
        let f = SDPScan.fields(fieldValue)
        guard f.count == 6, f.allSatisfy(SDPScan.isWord) else { throw .badOrigin }
        guard f[1].utf8.allSatisfy(SDPScan.isDigit) else { throw .nonNumeric(field: "o= sess-id") }
        guard f[1].utf8.count <= 64 else { throw .valueOutOfRange(field: "o= sess-id") }
        self.init(username: String(f[0]), sessionID: String(f[1]),
                  sessionVersion: try SDPScan.number(f[2], "o= sess-version"),
                  networkType: String(f[3]), addressType: String(f[4]), address: String(f[5]))
    }

    /// The text after `o=`.
    public var fieldValue: String {
        "\(username) \(sessionID) \(sessionVersion) \(networkType) \(addressType) \(address)"
    }
}

/// `t=` (RFC 8866 §5.9): start and stop time; WebRTC always uses `0 0` (RFC 8829 §5.2.1).
public struct Timing: Hashable, Sendable {
    /// NTP start time, 0 for unbounded.
    public var start: UInt64
    /// NTP stop time, 0 for unbounded.
    public var stop: UInt64

    /// Creates a timing; `Timing()` is `t=0 0`.
    public init(start: UInt64 = 0, stop: UInt64 = 0) {
        self.start = start
        self.stop = stop
    }

    /// Parses the text after `t=`.
    public init(fieldValue: Substring) throws(SDPError.Reason) {
        let f = SDPScan.fields(fieldValue)
        guard f.count == 2 else { throw .badTiming }
        self.init(start: try SDPScan.number(f[0], "t= start-time"), stop: try SDPScan.number(f[1], "t= stop-time"))
    }

    /// The text after `t=`.
    public var fieldValue: String { "\(start) \(stop)" }
}

/// `c=` (RFC 8866 §5.7): where media is sent; in WebRTC only a hint, ICE decides (RFC 8829 §5.2.1).
public struct ConnectionData: Hashable, Sendable {
    /// `IN`.
    public var networkType: String
    /// `IP4` or `IP6`.
    public var addressType: String
    /// The address, possibly with `/ttl[/count]` for multicast.
    public var address: String

    /// Creates connection data; the defaults are JSEP's dummy `IN IP4 0.0.0.0`.
    public init(networkType: String = "IN", addressType: String = "IP4", address: String = "0.0.0.0") {
        self.networkType = networkType
        self.addressType = addressType
        self.address = address
    }

    /// Parses the text after `c=`.
    public init(fieldValue: Substring) throws(SDPError.Reason) {
        let f = SDPScan.fields(fieldValue)
        guard f.count == 3, f.allSatisfy(SDPScan.isWord) else { throw .badConnection }
        self.init(networkType: String(f[0]), addressType: String(f[1]), address: String(f[2]))
    }

    /// The text after `c=`.
    public var fieldValue: String { "\(networkType) \(addressType) \(address)" }
}
