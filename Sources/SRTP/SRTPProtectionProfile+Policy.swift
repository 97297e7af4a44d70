import CCohortSRTP
import Wire

extension SRTPProtectionProfile {
    /// Authentication tag length of SRTP packets in octets.
    public var rtpTagLength: Int {
        switch self {
        case .aes128CmHmacSha1_80: return 10
        case .aes128CmHmacSha1_32: return 4
        case .aeadAes128Gcm, .aeadAes256Gcm: return 16
        }
    }

    /// Authentication tag length of SRTCP packets in octets. For
    /// SRTP_AES128_CM_HMAC_SHA1_32, RFC 5764 §4.1.2 keeps SRTCP at the
    /// 80-bit tag; only SRTP uses the 32-bit one.
    public var rtcpTagLength: Int {
        switch self {
        case .aes128CmHmacSha1_80, .aes128CmHmacSha1_32: return 10
        case .aeadAes128Gcm, .aeadAes256Gcm: return 16
        }
    }

    /// Fills libsrtp's crypto policies for SRTP and SRTCP.
    func setPolicies(rtp: inout srtp_crypto_policy_t, rtcp: inout srtp_crypto_policy_t) {
        switch self {
        case .aes128CmHmacSha1_80:
            cohort_srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&rtp)
            cohort_srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&rtcp)
        case .aes128CmHmacSha1_32:
            srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&rtp)
            // RFC 5764 §4.1.2: SRTCP auth tag stays 80 bits for this profile.
            cohort_srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&rtcp)
        case .aeadAes128Gcm:
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&rtp)
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&rtcp)
        case .aeadAes256Gcm:
            srtp_crypto_policy_set_aes_gcm_256_16_auth(&rtp)
            srtp_crypto_policy_set_aes_gcm_256_16_auth(&rtcp)
        }
    }
}
