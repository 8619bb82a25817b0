/*
 * Address syntax: IP literals, host names, loopback, and the URLs the config accepts.
 * Syntax only: nothing here resolves a name or touches the network. xb_hostport_parse
 * (config.h) lives in addr.c too.
 */
#ifndef XB_ADDR_H
#define XB_ADDR_H

#include <stdbool.h>
#include <stddef.h>

/* Dotted quad, each part 0..255 without leading zeros (no octal surprises). */
bool xb_addr_ipv4(const char *s, size_t len, unsigned char out[4]);

/* RFC 4291 text form, with "::" and a dotted-quad tail; no zone index. */
bool xb_addr_ipv6(const char *s, size_t len, unsigned char out[16]);

/* "localhost", 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
bool xb_addr_is_loopback(const char *host, size_t len);

/* An https:// URL, or http:// to a loopback host (local test servers); no user:password@,
 * no blanks. */
bool xb_addr_url_ok(const char *url, size_t len);

/* "host:port", "[v6]:port" -> parts; false if malformed or the port is out of 1..65535
 * (0 too when allow_port0: "any free port", for listeners). */
bool xb_hostport_parse(const char *s, char *host, size_t host_size, unsigned *port,
                       bool allow_port0);

#endif
