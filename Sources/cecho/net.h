/*
 * net.h -- socket helpers the loop uses (private; the public ones are in cecho.h).
 */
#ifndef CE_NET_H
#define CE_NET_H

#include <stddef.h>
#include <sys/socket.h>

/* Longest "[v6 address]:port" we format, with its NUL. */
#define CE_ENDPOINT_LEN 64

/* Format an address as "1.2.3.4:port" or "[v6]:port" (IPv4-mapped IPv6 as IPv4). */
void ce_net_format(const struct sockaddr *sa, char *out, size_t outlen);
/* accept() a connection as a non-blocking, close-on-exec socket; -1/errno like accept(). */
int ce_net_accept(int lfd, struct sockaddr *sa, socklen_t *salen);
/* Per-connection options: TCP_NODELAY (echo replies must not wait for Nagle), and on
 * platforms without MSG_NOSIGNAL, SO_NOSIGPIPE. Best effort. */
void ce_net_tune_connection(int fd);
/* Flag for send() that keeps a peer's reset from raising SIGPIPE, where the platform has it. */
#ifdef MSG_NOSIGNAL
#define CE_SEND_FLAGS MSG_NOSIGNAL
#else
#define CE_SEND_FLAGS 0
#endif

#endif /* CE_NET_H */
