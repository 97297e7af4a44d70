// The media socket's system calls (recvmmsg, sendmmsg, epoll_pwait2,
// eventfd), wrapped so that Swift sees plain structs and integers: these
// need _GNU_SOURCE, which the Glibc module is not built with.
#ifndef CCOHORT_SOCKET_H
#define CCOHORT_SOCKET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/// One received datagram's length and source.
typedef struct {
    uint32_t length;
    /// Nonzero when the datagram was longer than its slot (cut short).
    uint8_t truncated;
    /// 4 or 6; 0 for any other family.
    uint8_t family;
    /// Host byte order.
    uint16_t port;
    /// IPv4: the first 4 bytes, network order; IPv6: all 16.
    uint8_t address[16];
} cohort_datagram_info;

/// One datagram to send: its bytes at `offset` of a shared buffer, and where to.
typedef struct {
    uint32_t offset;
    uint32_t length;
    uint8_t family;
    uint16_t port;
    uint8_t address[16];
} cohort_send_entry;

/// The message headers, iovecs and addresses of one batch, allocated once.
typedef struct cohort_udp_io cohort_udp_io;

cohort_udp_io *cohort_udp_io_create(unsigned capacity);
void cohort_udp_io_destroy(cohort_udp_io *io);

/// A nonblocking UDP socket bound to `address`, with the given buffer
/// sizes. Returns the descriptor, or -errno.
int cohort_udp_open(const struct sockaddr *address, socklen_t length, int receive_buffer, int send_buffer);
/// The port `fd` is bound to (host order), or 0.
uint16_t cohort_udp_port(int fd);
/// The socket's family: 4 or 6.
int cohort_udp_family(int fd);

/// Receives up to `count` (at most the io's capacity) datagrams into
/// `buffers` (slots of `slot_size` bytes, one after another) without
/// blocking. Returns how many, 0 when none is waiting, or -errno.
int cohort_udp_receive(int fd, cohort_udp_io *io, uint8_t *buffers, size_t slot_size, unsigned count,
                       cohort_datagram_info *infos);

/// Sends `count` entries (any number; in batches of the io's capacity)
/// whose bytes lie in `base`. A datagram the kernel refuses is skipped and
/// counted in `errors`; when the send buffer is full the rest are dropped
/// and counted in `dropped`. Returns how many were sent.
unsigned cohort_udp_send(int fd, int socket_family, cohort_udp_io *io, const uint8_t *base,
                         const cohort_send_entry *entries, unsigned count, unsigned *errors, unsigned *dropped);

/// An epoll set watching `udp_fd` and a new eventfd. Returns the epoll
/// descriptor, or -errno.
int cohort_loop_create(int udp_fd, int *event_fd);
#define COHORT_READY_UDP 1
#define COHORT_READY_EVENT 2
/// Waits until a descriptor is ready or the absolute CLOCK_MONOTONIC time
/// `deadline_ns` (forever when 0; not at all when it has passed) and returns
/// a mask of COHORT_READY_*, 0 on timeout or signal.
int cohort_loop_wait(int epoll_fd, int udp_fd, int event_fd, uint64_t deadline_ns);
/// Wakes the loop (eventfd write).
void cohort_loop_wake(int event_fd);
/// Consumes an eventfd's count.
void cohort_loop_clear(int fd);
/// Closes a descriptor.
void cohort_close(int fd);

#endif
