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

#endif
