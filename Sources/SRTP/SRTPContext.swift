import CCohortSRTP
import Wire

/// SRTP and SRTCP protection for one DTLS-SRTP association (RFC 3711,
/// RFC 5764, RFC 7714), over libsrtp2.
///
/// Outbound, any SSRC may be protected: libsrtp creates a stream (rollover
/// counter, replay state) per SSRC on its first packet, so one context serves
/// every source forwarded to a subscriber. Inbound, any SSRC is accepted and
/// gets its own stream once its first packet authenticates.
///
/// Threading: not `Sendable`. A context belongs to the event loop of the
/// session that owns the peer's transport; create it there (when DTLS
/// finishes, on that loop) and call it only there. libsrtp keeps mutable
/// per-stream state and shares cipher objects between streams, so two
/// threads must never use one context at once. Distinct contexts are
/// independent and may run on different threads concurrently.
///
/// No per-packet allocation: every method works in the caller's buffer.
public final class SRTPContext {
    /// Which side of the DTLS handshake we were (RFC 5764 §4.2): it decides
    /// which exported key protects what we send.
    public enum Role: Sendable {
        /// We were the DTLS client: we send with the client write key.
        case dtlsClient
        /// We were the DTLS server: we send with the server write key.
        case dtlsServer
    }

    /// Octets a buffer must have free after the packet for `protectRTP` and
    /// `protectRTCP`: libsrtp may write up to `SRTP_MAX_TRAILER_LEN` octets
    /// of tag and MKI, plus 4 for the SRTCP E flag and index. Reserve this
    /// much capacity once and reuse the buffer.
    public static let maximumTrailerLength = LibSRTP.maximumRTPTrailer + PacketCheck.srtcpIndexLength

    /// The negotiated protection profile.
    public let profile: SRTPProtectionProfile
    private let outbound: LibSRTPSession
    private let inbound: LibSRTPSession

    /// Creates a context from master keys and salts given directly:
    /// `outbound*` protects what we send, `inbound*` what we receive.
    public init(profile: SRTPProtectionProfile,
                outboundKey: [UInt8], outboundSalt: [UInt8],
                inboundKey: [UInt8], inboundSalt: [UInt8]) throws(SRTPError) {
        self.profile = profile
        outbound = try LibSRTPSession(profile: profile, key: outboundKey, salt: outboundSalt, direction: .outbound)
        inbound = try LibSRTPSession(profile: profile, key: inboundKey, salt: inboundSalt, direction: .inbound)
    }

    /// Creates a context from DTLS-SRTP keying material (RFC 5764 §4.2). As
    /// DTLS server we send with the server write key and salt and receive
    /// with the client's; as DTLS client, the reverse.
    public convenience init(keyingMaterial k: SRTPKeyingMaterial, role: Role) throws(SRTPError) {
        switch role {
        case .dtlsServer:
            try self.init(profile: k.profile,
                          outboundKey: k.serverWriteKey, outboundSalt: k.serverWriteSalt,
                          inboundKey: k.clientWriteKey, inboundSalt: k.clientWriteSalt)
        case .dtlsClient:
            try self.init(profile: k.profile,
                          outboundKey: k.clientWriteKey, outboundSalt: k.clientWriteSalt,
                          inboundKey: k.serverWriteKey, inboundSalt: k.serverWriteSalt)
        }
    }

    // MARK: - Raw buffers

    /// Protects the RTP packet in `buffer[0..<length]` in place (RFC 3711
    /// §3.3, RFC 7714 §8) and returns the SRTP packet's length.
    /// `buffer.count` must be at least `length + maximumTrailerLength` and
    /// the buffer 4-byte aligned, as libsrtp requires.
    public func protectRTP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTPError) -> Int {
        guard length <= PacketCheck.maximumPacketLength else {
            throw .invalidLength(length: length, minimum: PacketCheck.rtpFixedHeader)
        }
        guard PacketCheck.rtpHeaderLength(UnsafeRawBufferPointer(buffer), length: length) != nil else {
            throw .malformedPacket
        }
        return try call(srtp_protect, outbound, buffer, length, capacityNeeded: length + Self.maximumTrailerLength)
    }

    /// Verifies and decrypts the SRTP packet in `buffer[0..<length]` in
    /// place (RFC 3711 §3.3, RFC 7714 §8) and returns the RTP packet's length.
    public func unprotectRTP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTPError) -> Int {
        guard length <= PacketCheck.maximumPacketLength else {
            throw .invalidLength(length: length, minimum: PacketCheck.rtpFixedHeader + profile.rtpTagLength)
        }
        guard let header = PacketCheck.rtpHeaderLength(UnsafeRawBufferPointer(buffer), length: length) else {
            if length < PacketCheck.rtpFixedHeader + profile.rtpTagLength {
                throw .invalidLength(length: length, minimum: PacketCheck.rtpFixedHeader + profile.rtpTagLength)
            }
            throw .malformedPacket
        }
        guard length >= header + profile.rtpTagLength else {
            throw .invalidLength(length: length, minimum: header + profile.rtpTagLength)
        }
        return try call(srtp_unprotect, inbound, buffer, length, capacityNeeded: length)
    }

    /// Protects the (compound) RTCP packet in `buffer[0..<length]` in place
    /// (RFC 3711 §3.4, RFC 7714 §9) and returns the SRTCP packet's length.
    /// Same buffer requirements as `protectRTP`.
    public func protectRTCP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTPError) -> Int {
        guard length <= PacketCheck.maximumPacketLength else {
            throw .invalidLength(length: length, minimum: PacketCheck.rtcpFixedHeader)
        }
        guard PacketCheck.isRTCP(UnsafeRawBufferPointer(buffer), length: length) else {
            if length < PacketCheck.rtcpFixedHeader {
                throw .invalidLength(length: length, minimum: PacketCheck.rtcpFixedHeader)
            }
            throw .malformedPacket
        }
        return try call(srtp_protect_rtcp, outbound, buffer, length, capacityNeeded: length + Self.maximumTrailerLength)
    }

    /// Verifies and decrypts the SRTCP packet in `buffer[0..<length]` in
    /// place and returns the RTCP packet's length.
    public func unprotectRTCP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTPError) -> Int {
        let minimum = PacketCheck.rtcpFixedHeader + PacketCheck.srtcpIndexLength + profile.rtcpTagLength
        guard length >= minimum, length <= PacketCheck.maximumPacketLength, length <= buffer.count else {
            throw .invalidLength(length: length, minimum: minimum)
        }
        guard PacketCheck.isRTCP(UnsafeRawBufferPointer(buffer), length: length) else { throw .malformedPacket }
        return try call(srtp_unprotect_rtcp, inbound, buffer, length, capacityNeeded: length)
    }

    // MARK: - Streams

    /// Forgets the inbound stream of `ssrc` (for a source that left), so its
    /// state stops using memory. Returns false if there was none.
    @discardableResult
    public func removeInboundStream(ssrc: UInt32) -> Bool { inbound.removeStream(ssrc: ssrc) }

    /// Forgets the outbound stream of `ssrc`. Returns false if there was none.
    /// A later packet of `ssrc` starts a new stream with rollover counter 0,
    /// so only do this for an SSRC that will never be sent again.
    @discardableResult
    public func removeOutboundStream(ssrc: UInt32) -> Bool { outbound.removeStream(ssrc: ssrc) }

    // MARK: - libsrtp call

    private typealias PacketFunction = (srtp_t?, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int32>?) -> srtp_err_status_t

    /// Calls a libsrtp per-packet function on `buffer[0..<length]`.
    @inline(__always)
    private func call(_ function: PacketFunction, _ session: LibSRTPSession,
                      _ buffer: UnsafeMutableRawBufferPointer, _ length: Int,
                      capacityNeeded: Int) throws(SRTPError) -> Int {
        guard buffer.count >= capacityNeeded, let base = buffer.baseAddress else {
            throw .insufficientCapacity(needed: capacityNeeded, available: buffer.count)
        }
        // libsrtp reads 32-bit words of the header through casts; our own
        // buffers ([UInt8], NIO ByteBuffer storage) are always aligned.
        precondition(Int(bitPattern: base) & 3 == 0, "libsrtp needs a 4-byte aligned packet")
        var octets = Int32(length)
        let status = function(session.handle, base, &octets)
        guard status == srtp_err_status_ok else { throw LibSRTP.error(status) }
        return Int(octets)
    }
}
