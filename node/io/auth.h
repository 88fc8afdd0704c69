/* auth.h - peer authentication: a per-cluster secret key and the hello's challenge-response MAC.
 *
 * Peers prove they belong to the cluster by knowing its secret (a key file
 * made per run or cluster, e.g. by the harness). The node accepting a peer
 * connection sends a fresh random challenge; the dialling node answers with
 * its hello carrying HMAC-SHA256(key, label || nonce || from || to || cluster)
 * (OpenSSL; no crypto of our own). A forged or replayed hello (another
 * connection's nonce) fails the check. node/PROTOCOL.md documents the wire. */
#ifndef IO_AUTH_H
#define IO_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IO_AUTH_KEY_MIN   16   /* bytes of key file accepted, at least */
#define IO_AUTH_KEY_MAX   1024 /* and at most */
#define IO_AUTH_NONCE     32   /* bytes of a challenge */
#define IO_AUTH_MAC       32   /* bytes of HMAC-SHA256 */
#define IO_AUTH_MAC_HEX   (2 * IO_AUTH_MAC)
#define IO_AUTH_NONCE_HEX (2 * IO_AUTH_NONCE)

struct io_auth_key {
    size_t len;
    unsigned char bytes[IO_AUTH_KEY_MAX];
};

/* Reads the key file at `path`: its whole content is the key (16 to 1024
 * bytes, e.g. 64 hex digits and a newline as io_auth_key_create writes).
 * Returns 0, or a negative code with a one-line message naming the file in
 * errmsg (missing, unreadable, too short or too long). */
int io_auth_key_load(struct io_auth_key *key, const char *path, char *errmsg);

/* Writes a new key file at `path` (0600, 32 random bytes as 64 hex digits and
 * a newline; refuses to overwrite). Returns 0 or a negative errno with errmsg. */
int io_auth_key_create(const char *path, char *errmsg);

/* Fills `nonce` with IO_AUTH_NONCE random bytes; returns 0 or -EIO when the
 * random source fails. */
int io_auth_nonce(unsigned char nonce[IO_AUTH_NONCE]);

/* Computes the hello MAC into `mac` (IO_AUTH_MAC bytes). Returns 0 or -EIO. */
int io_auth_mac(const struct io_auth_key *key, const unsigned char nonce[IO_AUTH_NONCE],
                uint64_t from, uint64_t to, const char *cluster, unsigned char mac[IO_AUTH_MAC]);

/* Returns true when `mac_hex` (IO_AUTH_MAC_HEX hex digits) is the MAC for
 * these values; compares in constant time. */
bool io_auth_verify(const struct io_auth_key *key, const unsigned char nonce[IO_AUTH_NONCE],
                    uint64_t from, uint64_t to, const char *cluster, const char *mac_hex);

/* Lower-case hex of n bytes into out (2n+1 bytes with the NUL). */
void io_auth_hex(const unsigned char *b, size_t n, char *out);

/* Parses exactly 2n hex digits into b; returns 0 or -1. */
int io_auth_unhex(const char *s, unsigned char *b, size_t n);

#endif
