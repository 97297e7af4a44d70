/*
 * sfu_baseline.c: the reference an SFU is measured against. It does the
 * least work an SFU must do per packet and nothing else:
 *
 *   recvmmsg a batch -> per packet: one SRTP unprotect (the sender's key),
 *   then per other member of the room: copy, one SRTP protect (the
 *   receiver's key) -> sendmmsg the batch.
 *
 * AEAD_AES_256_GCM (RFC 7714) with fixed keys, no ICE, no DTLS, no RTCP, no
 * slot rewriting: its CPU per forwarded packet is a floor for Cohort's.
 * AES-256, because that is what Cohort and its load harness negotiate
 * (SRTPProtectionProfile.serverPreference puts it first); SFU_BASELINE_AES=128
 * in the environment of both commands uses AEAD_AES_128_GCM instead.
 *
 *   sfu_baseline relay PORT ROOMS SIZE SECONDS
 *       forwards for SECONDS, then prints one JSON line with its counters
 *       and CPU time (getrusage) to stdout.
 *   sfu_baseline load PORT ROOMS SIZE SECONDS AUDIO_PPS VIDEO_PPS VIDEO_BYTES
 *       ROOMS*SIZE participants, one UDP socket each on 127.0.0.1, each
 *       sending AUDIO_PPS packets/s of 100 bytes and VIDEO_PPS packets/s of
 *       VIDEO_BYTES, and receiving (and unprotecting) what the relay sends.
 *       It sends the way Cohort's load harness does (LoopDriver): every
 *       2 ms it sends what is due, and each participant's audio and video
 *       start at a random phase of their period (seeded, so every run is
 *       alike). Relays wake once per batch of arrivals, and on loopback a
 *       wakeup costs more than a packet, so both relays must see arrivals
 *       bunched alike: spread evenly, 10 audio senders woke the relay
 *       500 times a second, the harness's ticks about 370 times.
 *
 * Participant p is in room p / SIZE; its SSRC is 0x10000 + p, which is how
 * the relay tells senders apart (the RTP header is not encrypted) and learns
 * their address from their first packet. Loopback only.
 *
 * Build: cc -O2 -o sfu_baseline sfu_baseline.c $(pkg-config --cflags --libs libsrtp2)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <srtp2/srtp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MTU 1500
#define MAX_PARTICIPANTS 4096
#define SSRC_BASE 0x10000u
/* Master key + 12-byte salt (RFC 7714 §12): 32 + 12 for AES-256, 16 + 12 for AES-128. */
#define KEY_LEN 44
static int aes128(void) {
    const char *v = getenv("SFU_BASELINE_AES");
    return v && strcmp(v, "128") == 0;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static double cpu_s(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

/* Fixed keys: direction 0 = participant -> relay, 1 = relay -> participant. */
static void make_key(uint8_t *key, int participant, int direction) {
    for (int i = 0; i < KEY_LEN; i++) key[i] = (uint8_t)(participant * 31 + direction * 101 + i * 7 + 1);
}

static srtp_t make_session(int participant, int direction, int outbound) {
    static uint8_t keys[2][MAX_PARTICIPANTS][KEY_LEN];
    uint8_t *key = keys[direction][participant];
    make_key(key, participant, direction);
    srtp_policy_t policy;
    memset(&policy, 0, sizeof policy);
    if (aes128()) {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
    } else {
        srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtp);
        srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtcp);
    }
    policy.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
    policy.key = key;
    policy.window_size = 1024;
    policy.allow_repeat_tx = 0;
    srtp_t session;
    if (srtp_create(&session, &policy) != srtp_err_status_ok) {
        fprintf(stderr, "srtp_create failed (is AES-GCM in this libsrtp2?)\n");
        exit(2);
    }
    return session;
}

static int udp_socket(int port) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int size = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("bind");
        exit(2);
    }
    return fd;
}

static uint32_t read_ssrc(const uint8_t *p, int n) {
    if (n < 12) return 0;
    return (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
}

/* ---- relay -------------------------------------------------------------- */

static int relay(int port, int rooms, int size, double seconds) {
    int n = rooms * size;
    srtp_t *in = calloc(n, sizeof *in), *out = calloc(n, sizeof *out);
    struct sockaddr_in *addr = calloc(n, sizeof *addr);
    char *known = calloc(n, 1);
    for (int p = 0; p < n; p++) {
        in[p] = make_session(p, 0, 0);
        out[p] = make_session(p, 1, 1);
    }
    int fd = udp_socket(port);
    struct timeval tv = {.tv_sec = 0, .tv_usec = 100000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

    static uint8_t rbuf[BATCH][MTU];
    static struct iovec riov[BATCH];
    static struct sockaddr_in rfrom[BATCH];
    static struct mmsghdr rmsg[BATCH];
    /* Up to BATCH * (SIZE - 1) copies per batch. */
    int cap = BATCH * (size > 1 ? size - 1 : 1);
    uint8_t (*sbuf)[MTU] = malloc((size_t)cap * MTU);
    struct iovec *siov = calloc(cap, sizeof *siov);
    struct mmsghdr *smsg = calloc(cap, sizeof *smsg);

    unsigned long long packets_in = 0, packets_out = 0, unprotect_failed = 0, protect_failed = 0, send_failed = 0;
    double start = now_s(), cpu0 = cpu_s(), first = 0;
    while (now_s() - start < seconds) {
        for (int i = 0; i < BATCH; i++) {
            riov[i] = (struct iovec){rbuf[i], MTU};
            rmsg[i].msg_hdr = (struct msghdr){.msg_name = &rfrom[i], .msg_namelen = sizeof rfrom[i],
                                              .msg_iov = &riov[i], .msg_iovlen = 1};
        }
        int got = recvmmsg(fd, rmsg, BATCH, MSG_WAITFORONE, NULL);
        if (got <= 0) continue;
        if (first == 0) { first = now_s(); cpu0 = cpu_s(); }
        int queued = 0;
        for (int i = 0; i < got; i++) {
            int len = (int)rmsg[i].msg_len;
            uint32_t ssrc = read_ssrc(rbuf[i], len);
            if (ssrc < SSRC_BASE || ssrc >= SSRC_BASE + (uint32_t)n) continue;
            int p = (int)(ssrc - SSRC_BASE);
            packets_in++;
            if (!known[p]) { addr[p] = rfrom[i]; known[p] = 1; }
            if (srtp_unprotect(in[p], rbuf[i], &len) != srtp_err_status_ok) { unprotect_failed++; continue; }
            int room = p / size;
            for (int r = room * size; r < (room + 1) * size; r++) {
                if (r == p || !known[r] || queued >= cap) continue;
                memcpy(sbuf[queued], rbuf[i], len);
                int olen = len;
                if (srtp_protect(out[r], sbuf[queued], &olen) != srtp_err_status_ok) { protect_failed++; continue; }
                siov[queued] = (struct iovec){sbuf[queued], (size_t)olen};
                smsg[queued].msg_hdr = (struct msghdr){.msg_name = &addr[r], .msg_namelen = sizeof addr[r],
                                                       .msg_iov = &siov[queued], .msg_iovlen = 1};
                queued++;
            }
        }
        for (int sent = 0; sent < queued;) {
            int k = sendmmsg(fd, smsg + sent, queued - sent, 0);
            if (k <= 0) { send_failed += queued - sent; break; }
            sent += k;
            packets_out += k;
        }
    }
    double cpu = cpu_s() - cpu0, wall = first > 0 ? now_s() - first : 0;
    printf("{\"packetsIn\":%llu,\"packetsOut\":%llu,\"unprotectFailed\":%llu,\"protectFailed\":%llu,"
           "\"sendFailed\":%llu,\"cpuSeconds\":%.4f,\"wallSeconds\":%.3f,\"cpuMicrosecondsPerForwarded\":%.4f}\n",
           packets_in, packets_out, unprotect_failed, protect_failed, send_failed, cpu, wall,
           packets_out ? cpu / packets_out * 1e6 : 0.0);
    return 0;
}

/* ---- load generator ----------------------------------------------------- */

static int load(int port, int rooms, int size, double seconds, int audio_pps, int video_pps, int video_bytes) {
    int n = rooms * size;
    int *fd = calloc(n, sizeof *fd);
    srtp_t *out = calloc(n, sizeof *out), *in = calloc(n, sizeof *in);
    uint16_t *seq_a = calloc(n, sizeof *seq_a);
    double *next_a = calloc(n, sizeof *next_a), *next_v = calloc(n, sizeof *next_v);
    struct pollfd *pfd = calloc(n, sizeof *pfd);
    struct sockaddr_in relay_addr = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    double start = now_s();
    srand(1);
    for (int p = 0; p < n; p++) {
        fd[p] = udp_socket(0);
        out[p] = make_session(p, 0, 1);
        in[p] = make_session(p, 1, 0);
        pfd[p] = (struct pollfd){.fd = fd[p], .events = POLLIN};
        /* A random phase within one period, as joins at random times give. */
        next_a[p] = start + rand() / (RAND_MAX + 1.0) / (audio_pps ? audio_pps : 1);
        next_v[p] = start + rand() / (RAND_MAX + 1.0) / (video_pps ? video_pps : 1);
    }
    const double tick = 0.002;
    double next_tick = start;
    unsigned long long sent = 0, received = 0, bad = 0;
    uint8_t buf[MTU];
    if (video_bytes > 1100) video_bytes = 1100;
    while (now_s() - start < seconds) {
        double t = now_s();
        int due = t >= next_tick;
        while (next_tick <= t) next_tick += tick;
        for (int p = 0; due && p < n; p++) {
            for (int kind = 0; kind < 2; kind++) {
                double *next = kind ? &next_v[p] : &next_a[p];
                int pps = kind ? video_pps : audio_pps;
                if (pps == 0 || *next > t) continue;
                *next += 1.0 / pps;
                int payload = kind ? video_bytes : 100;
                uint16_t seq = seq_a[p]++;  /* one SSRC per participant, one sequence space */
                uint32_t ssrc = SSRC_BASE + p;
                memset(buf, 0xA5, 12 + payload);
                buf[0] = 0x80;
                buf[1] = kind ? 96 : 111;
                buf[2] = seq >> 8; buf[3] = seq & 0xFF;
                uint32_t ts = (uint32_t)(t * 48000);
                buf[4] = ts >> 24; buf[5] = ts >> 16; buf[6] = ts >> 8; buf[7] = ts;
                buf[8] = ssrc >> 24; buf[9] = ssrc >> 16; buf[10] = ssrc >> 8; buf[11] = ssrc;
                int len = 12 + payload;
                if (srtp_protect(out[p], buf, &len) != srtp_err_status_ok) { bad++; continue; }
                sendto(fd[p], buf, len, 0, (struct sockaddr *)&relay_addr, sizeof relay_addr);
                sent++;
            }
        }
        double wait = next_tick - now_s();
        if (wait < 0) wait = 0;
        struct timespec timeout = {.tv_sec = 0, .tv_nsec = (long)(wait * 1e9)};
        int ready = ppoll(pfd, n, &timeout, NULL);
        for (int p = 0; ready > 0 && p < n; p++) {
            if (!(pfd[p].revents & POLLIN)) continue;
            for (;;) {
                ssize_t k = recv(fd[p], buf, sizeof buf, MSG_DONTWAIT);
                if (k <= 0) break;
                int len = (int)k;
                if (srtp_unprotect(in[p], buf, &len) == srtp_err_status_ok) received++; else bad++;
            }
        }
    }
    printf("{\"sent\":%llu,\"received\":%llu,\"bad\":%llu}\n", sent, received, bad);
    return 0;
}

int main(int argc, char **argv) {
    if (srtp_init() != srtp_err_status_ok) return 2;
    if (argc == 6 && strcmp(argv[1], "relay") == 0)
        return relay(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atof(argv[5]));
    if (argc == 9 && strcmp(argv[1], "load") == 0)
        return load(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atof(argv[5]), atoi(argv[6]), atoi(argv[7]), atoi(argv[8]));
    fprintf(stderr, "usage: %s relay PORT ROOMS SIZE SECONDS\n"
                    "       %s load PORT ROOMS SIZE SECONDS AUDIO_PPS VIDEO_PPS VIDEO_BYTES\n", argv[0], argv[0]);
    return 2;
}
