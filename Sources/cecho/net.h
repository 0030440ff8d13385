/*
 * net.h -- socket helpers the loop uses (private; the public ones are in cecho.h). Layer: base.
 */
#ifndef CE_NET_H
#define CE_NET_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

/* A peer address of any family the loop serves, kept raw: formatted only when a log line or a
 * hook needs it. */
typedef union ce_sockaddr {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
} ce_sockaddr;

/* Longest address we format, with its NUL: "unix:" and a whole sun_path. */
#define CE_ENDPOINT_LEN 128

/* Format an address as "1.2.3.4:port" or "[v6]:port" (IPv4-mapped IPv6 as IPv4), a Unix one as
 * "unix:PATH", or "unix" when it has no path. */
void ce_net_format(const struct sockaddr *sa, char *out, size_t outlen);
/* Format the peer of connection `fd`; a Unix-domain peer as the socket it connected to. */
void ce_net_format_peer(int fd, const struct sockaddr *peer, char *out, size_t outlen);
/* A non-blocking, close-on-exec socket of `family` and `type`; -1/errno like socket(). */
int ce_net_socket(int family, int type);
/* Make `fd` non-blocking and close-on-exec (what it is already is kept). */
int ce_net_set_nonblocking_cloexec(int fd);
/* accept() a connection as a non-blocking, close-on-exec socket; -1/errno like accept(). */
int ce_net_accept(int lfd, struct sockaddr *sa, socklen_t *salen);
/* Per-connection options: TCP_NODELAY for TCP (echo replies must not wait for Nagle), and on
 * platforms without MSG_NOSIGNAL, SO_NOSIGPIPE. Best effort. `family` is the peer's. */
void ce_net_tune_connection(int fd, int family);
/* Flag for send() that keeps a peer's reset from raising SIGPIPE, where the platform has it. */
#ifdef MSG_NOSIGNAL
#define CE_SEND_FLAGS MSG_NOSIGNAL
#else
#define CE_SEND_FLAGS 0
#endif

#endif /* CE_NET_H */
