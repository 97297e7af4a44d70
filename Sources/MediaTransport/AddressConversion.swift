import NIOCore
import STUN

#if canImport(Glibc)
import Glibc
#endif

/// Conversions between NIO's socket addresses and the engine's `StunAddress`
/// without going through text (this runs once per datagram).
enum AddressConversion {
    static func stunAddress(_ address: SocketAddress) -> StunAddress? {
        switch address {
        case .v4(let a):
            let raw = UInt32(bigEndian: a.address.sin_addr.s_addr)
            return StunAddress(ip: .v4(raw), port: UInt16(bigEndian: a.address.sin_port))
        case .v6(let a):
            var sin6 = a.address
            let (high, low) = withUnsafeBytes(of: &sin6.sin6_addr) { raw -> (UInt64, UInt64) in
                var h: UInt64 = 0, l: UInt64 = 0
                for i in 0..<8 { h = h << 8 | UInt64(raw[i]) }
                for i in 8..<16 { l = l << 8 | UInt64(raw[i]) }
                return (h, l)
            }
            return StunAddress(ip: .v6(high: high, low: low), port: UInt16(bigEndian: sin6.sin6_port))
        case .unixDomainSocket:
            return nil
        }
    }

    static func socketAddress(_ address: StunAddress) -> SocketAddress {
        switch address.ip {
        case .v4(let raw):
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = address.port.bigEndian
            sin.sin_addr.s_addr = raw.bigEndian
            return SocketAddress(sin, host: "")
        case .v6(let high, let low):
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = address.port.bigEndian
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { raw in
                for i in 0..<8 { raw[i] = UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64(i))) }
                for i in 0..<8 { raw[8 + i] = UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64(i))) }
            }
            return SocketAddress(sin6, host: "")
        }
    }
}
