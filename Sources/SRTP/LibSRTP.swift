import CCohortSRTP

/// Process-wide libsrtp state.
///
/// `srtp_init` registers the cipher and authentication types in libsrtp's
/// crypto kernel and must run exactly once, before any other call, and it is
/// not itself thread-safe. A `static let` is initialised lazily and
/// atomically by the Swift runtime (`swift_once`), so whichever thread first
/// creates an `SRTPContext` runs it and every other thread waits for it.
enum LibSRTP {
    /// How many times `srtp_init` ran in this process; tests check it is 1.
    /// Written only inside the once-initialiser below, read after it.
    nonisolated(unsafe) static var initialisationCount = 0

    /// The status of the one `srtp_init` call.
    static let initialisation: srtp_err_status_t = {
        initialisationCount += 1
        return srtp_init()
    }()

    /// Runs `srtp_init` on first use; throws if it failed.
    static func ensureInitialised() throws(SRTPError) {
        let status = initialisation
        guard status == srtp_err_status_ok else {
            throw .initialisationFailed(status: Int32(status.rawValue))
        }
    }

    /// The most octets libsrtp may write after an RTP packet it protects.
    static let maximumRTPTrailer = Int(cohort_srtp_max_trailer_len())

    /// Maps a libsrtp status from a per-packet call to `SRTPError`.
    static func error(_ status: srtp_err_status_t) -> SRTPError {
        switch status {
        case srtp_err_status_auth_fail: return .authenticationFailed
        case srtp_err_status_replay_fail: return .replayed
        case srtp_err_status_replay_old, srtp_err_status_pkt_idx_old: return .tooOld
        case srtp_err_status_bad_param, srtp_err_status_parse_err: return .malformedPacket
        case srtp_err_status_key_expired: return .keyExpired
        default: return .library(status: Int32(status.rawValue))
        }
    }
}
