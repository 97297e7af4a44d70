#define _GNU_SOURCE
#include "CCohortSocket.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

struct cohort_udp_io {
    unsigned capacity;
    struct mmsghdr *messages;
    struct iovec *vectors;
    struct sockaddr_storage *addresses;
};

cohort_udp_io *cohort_udp_io_create(unsigned capacity) {
    cohort_udp_io *io = calloc(1, sizeof *io);
    if (!io) return NULL;
    io->capacity = capacity;
    io->messages = calloc(capacity, sizeof *io->messages);
    io->vectors = calloc(capacity, sizeof *io->vectors);
    io->addresses = calloc(capacity, sizeof *io->addresses);
    if (!io->messages || !io->vectors || !io->addresses) {
        cohort_udp_io_destroy(io);
        return NULL;
    }
    return io;
}

void cohort_udp_io_destroy(cohort_udp_io *io) {
    if (!io) return;
    free(io->messages);
    free(io->vectors);
    free(io->addresses);
    free(io);
}

int cohort_udp_open(const struct sockaddr *address, socklen_t length, int receive_buffer, int send_buffer) {
    int fd = socket(address->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &send_buffer, sizeof send_buffer);
    if (bind(fd, address, length) < 0) {
        int error = errno;
        close(fd);
        return -error;
    }
    return fd;
}

uint16_t cohort_udp_port(int fd) {
    struct sockaddr_storage address;
    socklen_t length = sizeof address;
    if (getsockname(fd, (struct sockaddr *)&address, &length) < 0) return 0;
    if (address.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&address)->sin_port);
    if (address.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&address)->sin6_port);
    return 0;
}

int cohort_udp_family(int fd) {
    struct sockaddr_storage address;
    socklen_t length = sizeof address;
    if (getsockname(fd, (struct sockaddr *)&address, &length) < 0) return 0;
    return address.ss_family == AF_INET6 ? 6 : 4;
}

int cohort_udp_receive(int fd, cohort_udp_io *io, uint8_t *buffers, size_t slot_size, unsigned count,
                       cohort_datagram_info *infos) {
    if (count > io->capacity) count = io->capacity;
    for (unsigned i = 0; i < count; i++) {
        io->vectors[i].iov_base = buffers + i * slot_size;
        io->vectors[i].iov_len = slot_size;
        struct msghdr *h = &io->messages[i].msg_hdr;
        memset(h, 0, sizeof *h);
        h->msg_name = &io->addresses[i];
        h->msg_namelen = sizeof io->addresses[i];
        h->msg_iov = &io->vectors[i];
        h->msg_iovlen = 1;
    }
    int n;
    do {
        n = recvmmsg(fd, io->messages, count, MSG_DONTWAIT, NULL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        cohort_datagram_info *info = &infos[i];
        info->length = io->messages[i].msg_len;
        info->truncated = (io->messages[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
        const struct sockaddr_storage *a = &io->addresses[i];
        if (a->ss_family == AF_INET) {
            const struct sockaddr_in *v4 = (const struct sockaddr_in *)a;
            info->family = 4;
            info->port = ntohs(v4->sin_port);
            memcpy(info->address, &v4->sin_addr, 4);
        } else if (a->ss_family == AF_INET6) {
            const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)a;
            info->family = 6;
            info->port = ntohs(v6->sin6_port);
            memcpy(info->address, &v6->sin6_addr, 16);
        } else {
            info->family = 0;
            info->port = 0;
        }
    }
    return n;
}

/// Writes `entry`'s destination into `out` for a socket of `socket_family`
/// (an IPv4 destination on an IPv6 socket becomes ::ffff:a.b.c.d). Returns
/// the address length, 0 when it cannot be reached from this socket.
static socklen_t destination(const cohort_send_entry *entry, int socket_family, struct sockaddr_storage *out) {
    memset(out, 0, sizeof(struct sockaddr_in6));
    if (socket_family == 4) {
        if (entry->family != 4) return 0;
        struct sockaddr_in *v4 = (struct sockaddr_in *)out;
        v4->sin_family = AF_INET;
        v4->sin_port = htons(entry->port);
        memcpy(&v4->sin_addr, entry->address, 4);
        return sizeof *v4;
    }
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(entry->port);
    if (entry->family == 4) {
        uint8_t *bytes = (uint8_t *)&v6->sin6_addr;
        bytes[10] = 0xff;
        bytes[11] = 0xff;
        memcpy(bytes + 12, entry->address, 4);
    } else {
        memcpy(&v6->sin6_addr, entry->address, 16);
    }
    return sizeof *v6;
}

unsigned cohort_udp_send(int fd, int socket_family, cohort_udp_io *io, const uint8_t *base,
                         const cohort_send_entry *entries, unsigned count, unsigned *errors, unsigned *dropped) {
    unsigned sent = 0;
    unsigned next = 0;
    while (next < count) {
        unsigned batch = 0;
        while (next < count && batch < io->capacity) {
            const cohort_send_entry *e = &entries[next++];
            socklen_t length = destination(e, socket_family, &io->addresses[batch]);
            if (length == 0) {
                (*errors)++;
                continue;
            }
            io->vectors[batch].iov_base = (void *)(base + e->offset);
            io->vectors[batch].iov_len = e->length;
            struct msghdr *h = &io->messages[batch].msg_hdr;
            memset(h, 0, sizeof *h);
            h->msg_name = &io->addresses[batch];
            h->msg_namelen = length;
            h->msg_iov = &io->vectors[batch];
            h->msg_iovlen = 1;
            batch++;
        }
        unsigned done = 0;
        while (done < batch) {
            int n = sendmmsg(fd, io->messages + done, batch - done, MSG_DONTWAIT);
            if (n > 0) {
                done += (unsigned)n;
                sent += (unsigned)n;
            } else if (n < 0 && errno == EINTR) {
                continue;
            } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
                // The send buffer is full: what is left of this batch and
                // of the queue is dropped (UDP; the peers' repair copes).
                *dropped += (batch - done) + (count - next);
                return sent;
            } else {
                // This datagram was refused (an unreachable destination,
                // a message too long): skip it, keep the others.
                (*errors)++;
                done++;
            }
        }
    }
    return sent;
}

int cohort_loop_create(int udp_fd, int *event_fd) {
    int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd < 0) return -errno;
    *event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (*event_fd < 0) {
        int error = errno;
        close(epoll_fd);
        return -error;
    }
    int fds[2] = {udp_fd, *event_fd};
    for (int i = 0; i < 2; i++) {
        struct epoll_event event = {.events = EPOLLIN, .data.fd = fds[i]};
        if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fds[i], &event) < 0) {
            int error = errno;
            close(*event_fd);
            close(epoll_fd);
            return -error;
        }
    }
    return epoll_fd;
}

int cohort_loop_wait(int epoll_fd, int udp_fd, int event_fd, uint64_t deadline_ns) {
    struct epoll_event events[2];
    int n;
    if (deadline_ns == 0) {
        n = epoll_wait(epoll_fd, events, 2, -1);
    } else {
        // The deadline as epoll_pwait2's own timeout (nanoseconds): no
        // timerfd to re-arm when the deadline moves and none to read when it
        // fires, two system calls fewer per timer and one per moved deadline.
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        uint64_t at = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
        uint64_t left = deadline_ns > at ? deadline_ns - at : 0;
        struct timespec timeout = {.tv_sec = (time_t)(left / 1000000000u), .tv_nsec = (long)(left % 1000000000u)};
        n = epoll_pwait2(epoll_fd, events, 2, &timeout, NULL);
    }
    int mask = 0;
    for (int i = 0; i < n; i++) {
        if (events[i].data.fd == udp_fd) mask |= COHORT_READY_UDP;
        else if (events[i].data.fd == event_fd) mask |= COHORT_READY_EVENT;
    }
    return mask;
}

void cohort_loop_wake(int event_fd) {
    uint64_t one = 1;
    ssize_t ignored = write(event_fd, &one, sizeof one);
    (void)ignored;
}

void cohort_loop_clear(int fd) {
    uint64_t count;
    ssize_t ignored = read(fd, &count, sizeof count);
    (void)ignored;
}

void cohort_close(int fd) {
    if (fd >= 0) close(fd);
}
