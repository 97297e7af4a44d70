/// Why an SRTP or SRTCP operation failed. Every packet a peer sends that
/// cannot be unprotected maps to one of these cases; none of them traps.
///
/// Callers on the receive path should count and drop: `.authenticationFailed`
/// and `.malformedPacket` mean a forged, corrupted or foreign packet;
/// `.replayed` and `.tooOld` are usually duplicates from the network or a
/// retransmission that arrived twice (RFC 3711 §3.3.2).
public enum SRTPError: Error, Equatable, Sendable {
    /// The key or salt does not have the length the profile requires
    /// (RFC 5764 §4.1.2, RFC 7714 §12). A bug in the caller, not peer input.
    case invalidKeyingMaterial(expectedKeyLength: Int, expectedSaltLength: Int)
    /// `srtp_init` or `srtp_create` failed with this libsrtp status.
    case initialisationFailed(status: Int32)
    /// The packet is shorter than its header plus the authentication tag
    /// (`minimum` octets), or longer than any UDP datagram.
    case invalidLength(length: Int, minimum: Int)
    /// The header is not a version-2 RTP/RTCP header, or its CSRC list or
    /// header extension runs past the end of the packet (RFC 3550 §5.1).
    case malformedPacket
    /// The authentication tag does not verify (RFC 3711 §3.3 step 5,
    /// RFC 7714 §9.3): forged, corrupted, or protected with another key.
    case authenticationFailed
    /// The packet index was already received (RFC 3711 §3.3.2).
    case replayed
    /// The packet index lies left of the replay window (RFC 3711 §3.3.2).
    case tooOld
    /// On protect: the caller's buffer cannot hold the packet plus
    /// `SRTPContext.maximumTrailerLength` octets.
    case insufficientCapacity(needed: Int, available: Int)
    /// The master key reached its packet limit (RFC 3711 §9.2); rekey.
    case keyExpired
    /// Any other libsrtp status (see `srtp_err_status_t`).
    case library(status: Int32)
}
