#ifndef CCOHORT_OPENSSL_SHIM_H
#define CCOHORT_OPENSSL_SHIM_H
// OpenSSL 3 for Cohort. Macros and variadic functions that Swift cannot
// import are wrapped here as static inline functions named cohort_*.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/rand.h>
#include <openssl/ec.h>

static inline long cohort_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return SSL_CTX_set_min_proto_version(ctx, version);
}
static inline long cohort_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return SSL_CTX_set_max_proto_version(ctx, version);
}
static inline long cohort_DTLSv1_get_timeout(SSL *ssl, struct timeval *tv) {
    return DTLSv1_get_timeout(ssl, tv);
}
static inline long cohort_DTLSv1_handle_timeout(SSL *ssl) {
    return DTLSv1_handle_timeout(ssl);
}
static inline size_t cohort_BIO_pending(BIO *bio) {
    return BIO_pending(bio);
}
static inline long cohort_SSL_set_mtu(SSL *ssl, long mtu) {
    return SSL_set_mtu(ssl, mtu);
}
static inline long cohort_SSL_set_options_no_query_mtu(SSL *ssl) {
    return SSL_set_options(ssl, SSL_OP_NO_QUERY_MTU);
}
static inline int cohort_BIO_get_data_int(BIO *bio) { return BIO_get_data(bio) != NULL; }

// --- DTLS engine (Sources/DTLS) ---
#include <openssl/srtp.h>
static inline EVP_PKEY *cohort_EVP_EC_gen(const char *curve) { return EVP_EC_gen(curve); }
static inline void cohort_BIO_set_retry_read(BIO *bio) { BIO_set_retry_read(bio); }
static inline void cohort_BIO_clear_retry_flags(BIO *bio) { BIO_clear_retry_flags(bio); }
static inline long cohort_SSL_CTX_set_max_cert_list(SSL_CTX *ctx, long size) {
    return SSL_CTX_set_max_cert_list(ctx, size);
}
static inline long cohort_SSL_CTX_set_read_ahead(SSL_CTX *ctx, int on) {
    return SSL_CTX_set_read_ahead(ctx, on);
}
/* No tickets, no renegotiation, no MTU probing: the DTLS-SRTP profile. */
static inline uint64_t cohort_SSL_CTX_set_dtls_srtp_options(SSL_CTX *ctx) {
    return SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_QUERY_MTU | SSL_OP_NO_RENEGOTIATION);
}
static inline int cohort_SSL_get_ex_data_X509_STORE_CTX_idx(void) {
    return SSL_get_ex_data_X509_STORE_CTX_idx();
}

#endif
