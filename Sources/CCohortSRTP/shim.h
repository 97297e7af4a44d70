#ifndef CCOHORT_SRTP_SHIM_H
#define CCOHORT_SRTP_SHIM_H
// libsrtp2 for Cohort. Macros wrapped as static inline functions named cohort_*.
#include <srtp2/srtp.h>

// srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80 is a function-like macro
// (a synonym of srtp_crypto_policy_set_rtp_default) that Swift cannot import.
static inline void cohort_srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(srtp_crypto_policy_t *p) {
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(p);
}

// The most octets srtp_protect may write after an RTP packet (tag + MKI).
static inline int cohort_srtp_max_trailer_len(void) { return SRTP_MAX_TRAILER_LEN; }

#endif
