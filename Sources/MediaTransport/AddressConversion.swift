import NIOCore
import STUN

#if canImport(Glibc)
import Glibc
#endif

/// NIO's socket address of an ICE-TCP connection as the engine's
/// `StunAddress`, without going through text. (The UDP loop reads and writes
/// raw socket addresses itself: `MediaLoop`.)
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
}
