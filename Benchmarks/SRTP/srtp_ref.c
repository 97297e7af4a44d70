// Reference for the SRTP benchmark: the same loop as cohort-bench-srtp,
// calling libsrtp2 directly. Same keys, policies and packets; prints
// "<profile> <payload octets> <ns per round trip> -" per case.
#include <srtp2/srtp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct { const char *name; int key_len, salt_len; } profile_t;

static void set_policy(const char *name, srtp_crypto_policy_t *rtp, srtp_crypto_policy_t *rtcp) {
    if (strcmp(name, "AEAD_AES_256_GCM") == 0) {
        srtp_crypto_policy_set_aes_gcm_256_16_auth(rtp); srtp_crypto_policy_set_aes_gcm_256_16_auth(rtcp);
    } else if (strcmp(name, "AEAD_AES_128_GCM") == 0) {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(rtp); srtp_crypto_policy_set_aes_gcm_128_16_auth(rtcp);
    } else if (strcmp(name, "AES_CM_128_HMAC_SHA1_80") == 0) {
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(rtp); srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(rtcp);
    } else {
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(rtp); srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(rtcp);
    }
}

static srtp_t session(const profile_t *p, int outbound) {
    // Exporter output octet i is i * 13 + 1; the server write key follows
    // the client's, the server salt follows the client salt (RFC 5764 §4.2).
    unsigned char exported[2 * (32 + 14)], material[64];
    for (int i = 0; i < 2 * (p->key_len + p->salt_len); i++) exported[i] = (unsigned char)(i * 13 + 1);
    memcpy(material, exported + p->key_len, p->key_len);
    memcpy(material + p->key_len, exported + 2 * p->key_len + p->salt_len, p->salt_len);
    srtp_policy_t policy;
    memset(&policy, 0, sizeof policy);
    set_policy(p->name, &policy.rtp, &policy.rtcp);
    policy.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
    policy.allow_repeat_tx = outbound;
    policy.window_size = 1024;
    policy.key = material;
    srtp_t s;
    if (srtp_create(&s, &policy) != srtp_err_status_ok) { fprintf(stderr, "srtp_create\n"); exit(1); }
    return s;
}

static unsigned short sequence;

static void round_trips(srtp_t tx, srtp_t rx, unsigned char *packet, int length, long n) {
    for (long i = 0; i < n; i++) {
        sequence++;
        packet[2] = sequence >> 8; packet[3] = sequence & 0xFF;
        int octets = length;
        if (srtp_protect(tx, packet, &octets) != srtp_err_status_ok) { fprintf(stderr, "protect\n"); exit(1); }
        if (srtp_unprotect(rx, packet, &octets) != srtp_err_status_ok) { fprintf(stderr, "unprotect\n"); exit(1); }
    }
}

int main(int argc, char **argv) {
    long iterations = argc > 1 ? atol(argv[1]) : 200000;
    const profile_t profiles[] = {
        {"AEAD_AES_256_GCM", 32, 12}, {"AEAD_AES_128_GCM", 16, 12},
        {"AES_CM_128_HMAC_SHA1_80", 16, 14}, {"AES_CM_128_HMAC_SHA1_32", 16, 14},
    };
    const int payloads[] = {160, 1100};
    if (srtp_init() != srtp_err_status_ok) return 1;
    for (int p = 0; p < 4; p++) {
        for (int s = 0; s < 2; s++) {
            srtp_t tx = session(&profiles[p], 1), rx = session(&profiles[p], 0);
            static unsigned char packet[2048] __attribute__((aligned(16)));
            unsigned char header[12] = {0x80, 111, 0, 0, 0, 0, 0, 0, 0xCA, 0xFE, 0xBA, 0xBE};
            memcpy(packet, header, 12);
            for (int i = 0; i < payloads[s]; i++) packet[12 + i] = (unsigned char)i;
            int length = 12 + payloads[s];
            sequence = 0;
            round_trips(tx, rx, packet, length, 1000);
            struct timespec a, b;
            clock_gettime(CLOCK_MONOTONIC, &a);
            round_trips(tx, rx, packet, length, iterations);
            clock_gettime(CLOCK_MONOTONIC, &b);
            double ns = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
            printf("%s %d %ld -\n", profiles[p].name, payloads[s], (long)(ns / iterations + 0.5));
            srtp_dealloc(tx);
            srtp_dealloc(rx);
        }
    }
    return 0;
}
