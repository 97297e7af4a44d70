import Wire

/// A transport address: an IPv4 or IPv6 address, a port and the transport
/// (UDP, or one ICE-TCP connection).
///
/// It is the value STUN carries in (XOR-)MAPPED-ADDRESS and the key the
/// transport uses for a remote candidate, so it is `Hashable` and inline
/// (no allocation). Text forms are `"192.0.2.1:3478"` and `"[2001:db8::1]:3478"`.
public struct StunAddress: Hashable, Sendable {
    /// How packets reach this address. RFC 6544 §7.2: a TCP candidate pair
    /// is one connection, so a TCP peer is named by its connection as well as
    /// its IP and port; the two never compare equal to each other, and a
    /// transmit to a TCP address goes back over that connection only.
    public enum Transport: Hashable, Sendable {
        /// Datagrams on the media socket.
        case udp
        /// The ICE-TCP connection with this number (RFC 4571 framing), unique on its loop.
        case tcp(connection: UInt32)
    }

    /// An IP address of either family.
    public enum IP: Hashable, Sendable {
        /// IPv4, the four octets big-endian in one integer.
        case v4(UInt32)
        /// IPv6, the sixteen octets as two big-endian halves.
        case v6(high: UInt64, low: UInt64)
    }

    /// The address.
    public var ip: IP
    /// The port.
    public var port: UInt16
    /// UDP unless the peer reached us over an ICE-TCP connection. STUN's
    /// address attributes carry `ip` and `port` only and decode as UDP.
    public var transport: Transport

    /// Creates an address from its parts.
    public init(ip: IP, port: UInt16, transport: Transport = .udp) {
        self.ip = ip
        self.port = port
        self.transport = transport
    }

    /// Creates an address from 4 (IPv4) or 16 (IPv6) octets in network
    /// order; nil for any other count.
    public init?(ipBytes: [UInt8], port: UInt16) {
        switch ipBytes.count {
        case 4: self.init(ip: .v4(ipBytes.readUInt32(at: 0)), port: port)
        case 16: self.init(ip: .v6(high: Self.uint64(ipBytes, at: 0), low: Self.uint64(ipBytes, at: 8)), port: port)
        default: return nil
        }
    }

    /// True for IPv4.
    public var isIPv4: Bool {
        if case .v4 = ip { return true }
        return false
    }

    /// The address octets in network order: 4 for IPv4, 16 for IPv6.
    public var ipBytes: [UInt8] {
        var out: [UInt8] = []
        switch ip {
        case .v4(let a):
            out.appendUInt32(a)
        case .v6(let high, let low):
            out.appendUInt64(high)
            out.appendUInt64(low)
        }
        return out
    }

    static func uint64(_ bytes: [UInt8], at offset: Int) -> UInt64 {
        UInt64(bytes.readUInt32(at: offset)) << 32 | UInt64(bytes.readUInt32(at: offset + 4))
    }
}

extension StunAddress: CustomStringConvertible, LosslessStringConvertible {
    /// Parses `"a.b.c.d:port"` or `"[ipv6]:port"`; nil on anything else.
    public init?(_ description: String) {
        guard let parsed = try? StunAddress(parsing: description) else { return nil }
        self = parsed
    }

    /// Parses `"a.b.c.d:port"` or `"[ipv6]:port"` (RFC 3986 §3.2.2 brackets,
    /// RFC 4291 §2.2 text). Throws `invalidAddress` on anything else.
    public init(parsing text: String) throws(StunError) {
        let utf8 = Array(text.utf8)
        let hostBytes: ArraySlice<UInt8>
        let portBytes: ArraySlice<UInt8>
        if utf8.first == UInt8(ascii: "[") {
            guard let close = utf8.firstIndex(of: UInt8(ascii: "]")),
                  close + 1 < utf8.count, utf8[close + 1] == UInt8(ascii: ":")
            else { throw .invalidAddress(text) }
            hostBytes = utf8[1..<close]
            portBytes = utf8[(close + 2)...]
            guard let ip = IP.parseIPv6(hostBytes) else { throw .invalidAddress(text) }
            guard let port = Self.parsePort(portBytes) else { throw .invalidAddress(text) }
            self.init(ip: ip, port: port)
        } else {
            guard let colon = utf8.lastIndex(of: UInt8(ascii: ":")) else { throw .invalidAddress(text) }
            hostBytes = utf8[..<colon]
            portBytes = utf8[(colon + 1)...]
            guard let ip = IP.parseIPv4(hostBytes) else { throw .invalidAddress(text) }
            guard let port = Self.parsePort(portBytes) else { throw .invalidAddress(text) }
            self.init(ip: ip, port: port)
        }
    }

    /// `"192.0.2.1:3478"` or `"[2001:db8::1]:3478"`; a TCP address adds
    /// `" tcp#<connection>"` (for logs: it does not parse back).
    public var description: String {
        let text: String
        switch ip {
        case .v4: text = "\(ip):\(port)"
        case .v6: text = "[\(ip)]:\(port)"
        }
        guard case .tcp(let connection) = transport else { return text }
        return text + " tcp#\(connection)"
    }

    private static func parsePort(_ digits: ArraySlice<UInt8>) -> UInt16? {
        guard (1...5).contains(digits.count) else { return nil }
        var value = 0
        for c in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) else { return nil }
            value = value * 10 + Int(c - UInt8(ascii: "0"))
        }
        return value <= 0xFFFF ? UInt16(value) : nil
    }
}
