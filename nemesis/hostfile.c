/* hostfile.c - the hosts file parser: JSON through jansson, lines found by a structural scan. */
#include "nemesis/hostfile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/name.h"

/* ==== Lines ==== */

/* jansson keeps no positions in the values it returns, so the line of hosts[k].key (of
 * hosts[k] when the key is absent or NULL) comes from a scan of the text that follows only
 * strings and nesting. The JSON is already known to be valid when this runs. */
static unsigned find_line(const char *t, size_t len, long k, const char *key)
{
    unsigned line = 1, elem_line = 0;
    int depth = 0;
    bool hosts_key = false, in_hosts = false;
    long elem = -1;
    for (size_t i = 0; i < len; i++) {
        char c = t[i];
        if (c == '\n') {
            line++;
        } else if (c == '"') {
            size_t s = ++i;
            unsigned sline = line;
            while (i < len && t[i] != '"') {
                if (t[i] == '\\')
                    i++;
                else if (t[i] == '\n')
                    line++;
                i++;
            }
            size_t e = i < len ? i : len, j = e + 1;
            while (j < len && (t[j] == ' ' || t[j] == '\t' || t[j] == '\r' || t[j] == '\n'))
                j++;
            if (j >= len || t[j] != ':')
                continue; /* a value, not a key */
            if (depth == 1)
                hosts_key = e - s == 5 && memcmp(t + s, "hosts", 5) == 0;
            if (depth == 3 && in_hosts && elem == k && key != NULL && e - s == strlen(key) &&
                memcmp(t + s, key, e - s) == 0)
                return sline;
        } else if (c == '[' || c == '{') {
            depth++;
            if (c == '[' && depth == 2 && hosts_key) {
                in_hosts = true;
            } else if (depth == 3 && in_hosts && ++elem == k) {
                elem_line = line;
                if (key == NULL)
                    return line;
            }
        } else if (c == ']' || c == '}') {
            if (depth == 3 && in_hosts && elem == k && elem_line)
                return elem_line; /* the key is not in this element */
            if (depth == 2 && in_hosts)
                in_hosts = false;
            depth--;
        }
    }
    return elem_line ? elem_line : 1;
}

/* ==== Fields ==== */

struct parse {
    const char *text;
    size_t len;
    const char *path;
    char *errmsg;
};

static int field_err(const struct parse *p, long k, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int field_err(const struct parse *p, long k, const char *key, const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    unsigned line = find_line(p->text, p->len, k, key);
    if (key != NULL)
        return fl_errorf(p->errmsg, FL_ESHAPE, "%s line %u: hosts[%ld].%s: %s", p->path, line, k,
                         key, what);
    return fl_errorf(p->errmsg, FL_ESHAPE, "%s line %u: hosts[%ld]: %s", p->path, line, k, what);
}

/* A destination ssh takes as one word: [user@]host with no shell or option characters. */
static bool dest_ok(const char *s)
{
    if (!*s || *s == '-')
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("@._-:[]", *s)))
            return false;
    return true;
}

/* A path we put inside single quotes on a remote shell and in ssh's argv: absolute, printable,
 * no quote, no "..". */
static bool path_ok(const char *s)
{
    if (s[0] != '/' || strstr(s, ".."))
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == '\'' || *s == '\\')
            return false;
    return true;
}

bool nemesis_hostfile_addr_allowed(const char *addr)
{
    struct in_addr a;
    if (inet_pton(AF_INET, addr, &a) != 1)
        return false;
    uint32_t v = ntohl(a.s_addr);
    if ((v & 0xffffff00u) == 0xc0000200u) /* 192.0.2.0/24 */
        return false;
    if ((v >> 24) == 0 || (v >> 24) == 127 || (v >> 28) >= 14) /* unspecified, loopback, D/E */
        return false;
    return true;
}

static int get_str(const struct parse *p, const json_t *o, long k, const char *key, char *out,
                   size_t cap, bool required)
{
    const json_t *v = json_object_get(o, key);
    if (v == NULL)
        return required ? field_err(p, k, key, "missing") : 0;
    if (!json_is_string(v))
        return field_err(p, k, key, "expected a string");
    size_t n = json_string_length(v);
    if (n == 0 || n >= cap)
        return field_err(p, k, key, "expected 1 to %zu characters", cap - 1);
    if (strlen(json_string_value(v)) != n)
        return field_err(p, k, key, "contains a NUL character");
    memcpy(out, json_string_value(v), n + 1);
    return 0;
}

static int host_from_json(const struct parse *p, const json_t *o, long k, struct nemesis_host *h)
{
    if (!json_is_object(o))
        return field_err(p, k, NULL, "expected an object");
    static const char *const known[] = {"name",     "ssh",         "addr",
                                        "port",     "identity",    "known_hosts",
                                        "workdir",  "host_key_checking", "control"};
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        bool ok = false;
        for (size_t i = 0; i < sizeof known / sizeof *known; i++)
            ok = ok || strcmp(key, known[i]) == 0;
        if (!ok)
            return field_err(p, k, NULL, "unknown field \"%.40s\"", key);
    }
    memset(h, 0, sizeof *h);
    h->line = find_line(p->text, p->len, k, NULL);
    snprintf(h->workdir, sizeof h->workdir, "/tmp/faultline-hosts");
    int rv;
    if ((rv = get_str(p, o, k, "name", h->name, sizeof h->name, true)) != 0 ||
        (rv = get_str(p, o, k, "ssh", h->ssh, sizeof h->ssh, true)) != 0 ||
        (rv = get_str(p, o, k, "addr", h->addr, sizeof h->addr, true)) != 0 ||
        (rv = get_str(p, o, k, "identity", h->identity, sizeof h->identity, false)) != 0 ||
        (rv = get_str(p, o, k, "known_hosts", h->known_hosts, sizeof h->known_hosts, false)) !=
            0 ||
        (rv = get_str(p, o, k, "workdir", h->workdir, sizeof h->workdir, false)) != 0 ||
        (rv = get_str(p, o, k, "control", h->control, sizeof h->control, false)) != 0)
        return rv;
    if (!fl_name_ok(h->name, false))
        return field_err(p, k, "name", "expected letters, digits, '_' or '-'");
    if (!dest_ok(h->ssh))
        return field_err(p, k, "ssh", "expected [user@]host (no spaces, quotes or leading '-')");
    if (!nemesis_hostfile_addr_allowed(h->addr))
        return field_err(p, k, "addr",
                         "expected an IPv4 address outside 192.0.2.0/24, 0/8, 127/8 and 224/3");
    if (h->control[0] && !nemesis_hostfile_addr_allowed(h->control))
        return field_err(p, k, "control",
                         "expected an IPv4 address outside 192.0.2.0/24, 0/8, 127/8 and 224/3");
    if (h->identity[0] && !path_ok(h->identity))
        return field_err(p, k, "identity", "expected an absolute path without quotes or \"..\"");
    if (h->known_hosts[0] && !path_ok(h->known_hosts))
        return field_err(p, k, "known_hosts", "expected an absolute path without quotes or \"..\"");
    if (!path_ok(h->workdir) || strcmp(h->workdir, "/") == 0 || strchr(h->workdir, ' '))
        return field_err(p, k, "workdir",
                         "expected an absolute folder other than / (no spaces, quotes, \"..\")");
    v = json_object_get(o, "port");
    if (v != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 65535)
            return field_err(p, k, "port", "expected an integer in [1, 65535]");
        h->port = (unsigned)json_integer_value(v);
    }
    char hk[16] = "yes";
    if ((rv = get_str(p, o, k, "host_key_checking", hk, sizeof hk, false)) != 0)
        return rv;
    if (strcmp(hk, "yes") == 0)
        h->hostkeys = NEMESIS_HOSTKEYS_YES;
    else if (strcmp(hk, "accept-new") == 0)
        h->hostkeys = NEMESIS_HOSTKEYS_ACCEPT_NEW;
    else if (strcmp(hk, "off") == 0)
        h->hostkeys = NEMESIS_HOSTKEYS_OFF;
    else
        return field_err(p, k, "host_key_checking", "expected \"yes\", \"accept-new\" or \"off\"");
    return 0;
}

int nemesis_hostfile_parse(const char *text, size_t len, const char *path,
                           struct nemesis_hostfile *out, char *errmsg)
{
    memset(out, 0, sizeof *out);
    snprintf(out->path, sizeof out->path, "%s", path);
    if (len > NEMESIS_HOSTFILE_MAX_BYTES)
        return fl_errorf(errmsg, FL_ELIMIT, "%s: larger than %u bytes", path,
                         NEMESIS_HOSTFILE_MAX_BYTES);
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return fl_errorf(errmsg, FL_EPARSE, "%s line %d column %d: %s", path, jerr.line,
                         jerr.column, jerr.text);
    struct parse p = {.text = text, .len = len, .path = path, .errmsg = errmsg};
    int rv = 0;
    const json_t *hosts = json_object_get(root, "hosts");
    if (!json_is_object(root)) {
        rv = fl_errorf(errmsg, FL_ESHAPE, "%s line 1: expected an object {\"hosts\": [...]}", path);
        goto out;
    }
    const char *key;
    const json_t *v;
    json_object_foreach(root, key, v) {
        if (strcmp(key, "hosts") != 0) {
            rv = fl_errorf(errmsg, FL_ESHAPE, "%s: unknown field \"%.40s\"", path, key);
            goto out;
        }
    }
    if (!json_is_array(hosts) || json_array_size(hosts) == 0 ||
        json_array_size(hosts) > NEMESIS_MAX_NODES) {
        rv = fl_errorf(errmsg, FL_ESHAPE, "%s line %u: hosts: expected an array of 1 to %d hosts",
                       path, find_line(text, len, -1, NULL), NEMESIS_MAX_NODES);
        goto out;
    }
    for (size_t k = 0; k < json_array_size(hosts); k++) {
        struct nemesis_host *h = &out->hosts[k];
        if ((rv = host_from_json(&p, json_array_get(hosts, k), (long)k, h)) != 0)
            goto out;
        for (size_t j = 0; j < k; j++) {
            if (strcmp(out->hosts[j].name, h->name) == 0) {
                rv = field_err(&p, (long)k, "name", "\"%s\" is also hosts[%zu]'s name", h->name, j);
                goto out;
            }
            if (strcmp(out->hosts[j].addr, h->addr) == 0) {
                rv = field_err(&p, (long)k, "addr", "%s is also hosts[%zu]'s address", h->addr, j);
                goto out;
            }
        }
        out->n++;
    }
    for (unsigned k = 0; k < out->n; k++)
        for (unsigned j = 0; j < out->n; j++)
            if (strcmp(out->hosts[k].control, out->hosts[j].addr) == 0) {
                rv = field_err(&p, (long)k, "control",
                               "%s is a host's address: the control must be another machine",
                               out->hosts[k].control);
                goto out;
            }
out:
    json_decref(root);
    if (rv != 0)
        memset(out->hosts, 0, sizeof out->hosts), out->n = 0;
    return rv;
}

int nemesis_hostfile_load(const char *path, struct nemesis_hostfile *out, char *errmsg)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return fl_errorf(errmsg, -errno, "hosts file %s: %s", path, strerror(errno));
    char *buf = fl_malloc(NEMESIS_HOSTFILE_MAX_BYTES + 1);
    if (buf == NULL) {
        fclose(f);
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    }
    size_t n = fread(buf, 1, NEMESIS_HOSTFILE_MAX_BYTES + 1, f);
    int rd = ferror(f);
    fclose(f);
    int rv = rd ? fl_errorf(errmsg, -EIO, "hosts file %s: read error", path)
                : nemesis_hostfile_parse(buf, n, path, out, errmsg);
    fl_free(buf);
    return rv;
}
