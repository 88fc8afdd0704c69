/* auth.c - per-cluster secret key files and the peer hello's HMAC-SHA256 (OpenSSL). */
#include "node/io/auth.h"

#include "common/error.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LABEL "faultline-peer-hello-v1"

int io_auth_key_load(struct io_auth_key *key, const char *path, char *errmsg)
{
    memset(key, 0, sizeof *key);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fl_errorf(errmsg, -errno, "secret file %s: %s", path, strerror(errno));
    size_t n = 0;
    for (;;) {
        unsigned char extra;
        /* Read one byte past the maximum to tell "too long" from "exactly max". */
        ssize_t r = n < sizeof key->bytes ? read(fd, key->bytes + n, sizeof key->bytes - n)
                                          : read(fd, &extra, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            return fl_errorf(errmsg, -e, "secret file %s: %s", path, strerror(e));
        }
        if (r == 0)
            break;
        if (n == sizeof key->bytes) {
            close(fd);
            return fl_errorf(errmsg, FL_ELIMIT, "secret file %s: over %d bytes", path,
                             IO_AUTH_KEY_MAX);
        }
        n += (size_t)r;
    }
    close(fd);
    if (n < IO_AUTH_KEY_MIN) {
        memset(key, 0, sizeof *key);
        return fl_errorf(errmsg, FL_ELIMIT, "secret file %s: %zu bytes, at least %d needed", path,
                         n, IO_AUTH_KEY_MIN);
    }
    key->len = n;
    return 0;
}

int io_auth_key_create(const char *path, char *errmsg)
{
    unsigned char raw[32];
    char hex[2 * sizeof raw + 2];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return fl_errorf(errmsg, -EIO, "secret file %s: no random bytes", path);
    io_auth_hex(raw, sizeof raw, hex);
    OPENSSL_cleanse(raw, sizeof raw);
    strcat(hex, "\n");
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return fl_errorf(errmsg, -errno, "secret file %s: %s", path, strerror(errno));
    size_t len = strlen(hex);
    ssize_t w = write(fd, hex, len);
    int e = w < 0 ? errno : EIO;
    OPENSSL_cleanse(hex, sizeof hex);
    if (close(fd) != 0 || w != (ssize_t)len) {
        unlink(path);
        return fl_errorf(errmsg, -e, "secret file %s: %s", path, strerror(e));
    }
    return 0;
}

int io_auth_nonce(unsigned char nonce[IO_AUTH_NONCE])
{
    return RAND_bytes(nonce, IO_AUTH_NONCE) == 1 ? 0 : -EIO;
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char)v;
        v >>= 8;
    }
}

int io_auth_mac(const struct io_auth_key *key, const unsigned char nonce[IO_AUTH_NONCE],
                uint64_t from, uint64_t to, const char *cluster, unsigned char mac[IO_AUTH_MAC])
{
    /* label, nonce, from, to, cluster: fixed widths but the last, so the
     * concatenation is unambiguous. */
    unsigned char msg[sizeof LABEL + IO_AUTH_NONCE + 16 + 65];
    size_t clen = strnlen(cluster, 64), n = 0;
    memcpy(msg, LABEL, sizeof LABEL); /* with its NUL */
    n += sizeof LABEL;
    memcpy(msg + n, nonce, IO_AUTH_NONCE);
    n += IO_AUTH_NONCE;
    put_u64(msg + n, from);
    put_u64(msg + n + 8, to);
    n += 16;
    memcpy(msg + n, cluster, clen);
    n += clen;
    unsigned int len = 0;
    if (HMAC(EVP_sha256(), key->bytes, (int)key->len, msg, n, mac, &len) == NULL ||
        len != IO_AUTH_MAC)
        return -EIO;
    return 0;
}

bool io_auth_verify(const struct io_auth_key *key, const unsigned char nonce[IO_AUTH_NONCE],
                    uint64_t from, uint64_t to, const char *cluster, const char *mac_hex)
{
    unsigned char got[IO_AUTH_MAC], want[IO_AUTH_MAC];
    if (mac_hex == NULL || strlen(mac_hex) != IO_AUTH_MAC_HEX ||
        io_auth_unhex(mac_hex, got, sizeof got) != 0)
        return false;
    if (io_auth_mac(key, nonce, from, to, cluster, want) != 0)
        return false;
    return CRYPTO_memcmp(got, want, sizeof want) == 0;
}

void io_auth_hex(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int io_auth_unhex(const char *s, unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = nibble(s[2 * i]), lo = hi < 0 ? -1 : nibble(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        b[i] = (unsigned char)(hi << 4 | lo);
    }
    return s[2 * n] == '\0' ? 0 : -1;
}
