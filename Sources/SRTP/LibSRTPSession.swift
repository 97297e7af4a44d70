import CCohortSRTP
import Wire

/// One libsrtp session (`srtp_t`) for one direction.
///
/// libsrtp allows one wildcard-SSRC template per session, and a template is
/// either inbound or outbound, so `SRTPContext` holds two of these.
/// Streams for individual SSRCs are cloned from the template on demand:
/// outbound on the first `srtp_protect` of an SSRC, inbound after the first
/// packet of an SSRC authenticates (so forged packets create no state).
final class LibSRTPSession {
    /// Which way the packets go.
    enum Direction {
        /// Packets we protect and send (`ssrc_any_outbound`).
        case outbound
        /// Packets we receive and unprotect (`ssrc_any_inbound`).
        case inbound
    }

    /// Replay window in packets (RFC 3711 §3.3.2 requires at least 64).
    /// 1024 tolerates the reordering of a busy video stream.
    static let replayWindow: UInt = 1024

    /// The libsrtp session; owned, freed in `deinit`.
    let handle: srtp_t

    /// Creates the session with the master `key` and `salt` of one direction.
    init(profile: SRTPProtectionProfile, key: [UInt8], salt: [UInt8], direction: Direction) throws(SRTPError) {
        guard key.count == profile.keyLength, salt.count == profile.saltLength else {
            throw .invalidKeyingMaterial(expectedKeyLength: profile.keyLength,
                                         expectedSaltLength: profile.saltLength)
        }
        try LibSRTP.ensureInitialised()

        var policy = srtp_policy_t()
        profile.setPolicies(rtp: &policy.rtp, rtcp: &policy.rtcp)
        switch direction {
        case .outbound:
            policy.ssrc.type = ssrc_any_outbound
            // A NACK answered by plain resend (RFC 4585 §6.2.1 without RTX)
            // protects the same payload under the same index again. That
            // yields the same ciphertext and reveals nothing; without this
            // flag libsrtp refuses it as a sender-side replay.
            policy.allow_repeat_tx = 1
        case .inbound:
            policy.ssrc.type = ssrc_any_inbound
            policy.allow_repeat_tx = 0
        }
        policy.window_size = Self.replayWindow

        // libsrtp reads the master key immediately followed by the master
        // salt, and copies what it derives, so the buffer can go afterwards.
        var material = key + salt
        var session: srtp_t?
        let status = material.withUnsafeMutableBufferPointer { bytes in
            policy.key = bytes.baseAddress
            return srtp_create(&session, &policy)
        }
        for i in material.indices { material[i] = 0 }
        guard status == srtp_err_status_ok, let session else {
            throw .initialisationFailed(status: Int32(status.rawValue))
        }
        handle = session
    }

    deinit {
        srtp_dealloc(handle)
    }

    /// Forgets the stream of `ssrc` (its rollover counter and replay window).
    /// Returns false when there was none.
    func removeStream(ssrc: UInt32) -> Bool {
        // libsrtp wants the SSRC in network byte order here.
        srtp_remove_stream(handle, ssrc.bigEndian) == srtp_err_status_ok
    }
}
