/* membership.c - configurations: lookup, encoding, one-server-at-a-time changes (Raft §4.1). */
#include <string.h>

#include "common/alloc.h"
#include "node/raft/impl.h"

int raft__conf_find(const struct raft_configuration *c, uint64_t id)
{
    for (unsigned i = 0; i < c->n; i++)
        if (c->servers[i].id == id)
            return (int)i;
    return -1;
}

int raft_role_of(const struct raft_configuration *c, uint64_t id)
{
    int i = raft__conf_find(c, id);
    return i < 0 ? RAFT_REMOVED : c->servers[i].role;
}

unsigned raft__voters(const struct raft_configuration *c)
{
    unsigned n = 0;
    for (unsigned i = 0; i < c->n; i++)
        n += c->servers[i].role == RAFT_VOTER;
    return n;
}

bool raft__is_voter(const struct raft *r, uint64_t id)
{
    return raft_role_of(&r->conf, id) == RAFT_VOTER;
}

struct raft_buf *raft_configuration_encode(const struct raft_configuration *c)
{
    uint64_t words[1 + 2 * RAFT_MAX_SERVERS];
    words[0] = c->n;
    for (unsigned i = 0; i < c->n; i++) {
        words[1 + 2 * i] = c->servers[i].id;
        words[2 + 2 * i] = (uint64_t)c->servers[i].role;
    }
    return raft_buf_new(words, (1 + 2 * (size_t)c->n) * sizeof(uint64_t));
}

int raft_configuration_decode(const struct raft_buf *b, struct raft_configuration *c)
{
    uint64_t words[1 + 2 * RAFT_MAX_SERVERS];
    if (b == NULL || b->len < sizeof(uint64_t))
        return RAFT_EINVAL;
    memcpy(words, b->data, sizeof(uint64_t));
    if (words[0] > RAFT_MAX_SERVERS || b->len != (1 + 2 * words[0]) * sizeof(uint64_t))
        return RAFT_EINVAL;
    memcpy(words, b->data, b->len);
    memset(c, 0, sizeof *c);
    c->n = (unsigned)words[0];
    for (unsigned i = 0; i < c->n; i++) {
        c->servers[i].id = words[1 + 2 * i];
        c->servers[i].role = (int)words[2 + 2 * i];
        if (c->servers[i].role < RAFT_VOTER || c->servers[i].role > RAFT_RESERVE)
            return RAFT_EINVAL;
    }
    return 0;
}

void raft__conf_apply(struct raft *r, const struct raft_configuration *c, uint64_t index)
{
    struct raft_progress prog[RAFT_MAX_SERVERS], gossip[RAFT_MAX_SERVERS];
    for (unsigned i = 0; i < c->n; i++) {
        int j = raft__conf_find(&r->conf, c->servers[i].id);
        if (j >= 0) {
            prog[i] = r->prog[j];
            gossip[i] = r->gossip[j];
        } else {
            memset(&prog[i], 0, sizeof prog[i]);
            prog[i].next = raft__last_index(r) + 1;
            prog[i].last_contact = r->now;
            prog[i].probing = true;
            gossip[i] = prog[i];
        }
    }
    r->conf = *c;
    r->conf_index = index;
    memcpy(r->prog, prog, sizeof prog[0] * c->n);
    memcpy(r->gossip, gossip, sizeof gossip[0] * c->n);
}

void raft__conf_restore(struct raft *r)
{
    /* Only the latest configuration in the log counts; after a truncation it
     * may be an older one (§4.1: "regardless of whether it is committed"). */
    for (uint64_t i = raft__last_index(r); i >= r->log_start && i > r->snap_conf_index; i--) {
        const struct raft_entry *e = &r->log[i - r->log_start];
        struct raft_configuration c;
        if (e->type == RAFT_CHANGE && raft_configuration_decode(e->buf, &c) == 0) {
            raft__conf_apply(r, &c, i);
            return;
        }
    }
    raft__conf_apply(r, &r->snap_conf, r->snap_conf_index);
}

/* Proposes a change of one server's role (§4.1): refused until the leader has
 * committed an entry of its term (§4.2.3 fix) and while a change is pending. */
int raft__change(struct raft *r, uint64_t id, int role)
{
    if (r->state != RAFT_LEADER)
        return RAFT_ENOTLEADER;
    if (r->conf_index > r->commit || raft__term_at(r, r->commit) != r->term ||
        r->transfer_to != 0)
        return RAFT_EBUSY;
    struct raft_configuration c = r->conf;
    int i = raft__conf_find(&c, id);
    if (role == RAFT_REMOVED) {
        if (i < 0)
            return RAFT_EINVAL;
        c.servers[i] = c.servers[c.n - 1];
        c.n--;
    } else if (role >= RAFT_VOTER && role <= RAFT_RESERVE) {
        if (i >= 0) {
            if (c.servers[i].role == role)
                return RAFT_EINVAL;
            c.servers[i].role = role;
        } else {
            if (c.n == RAFT_MAX_SERVERS || id == 0)
                return RAFT_EINVAL;
            c.servers[c.n++] = (struct raft_server){.id = id, .role = role};
        }
    } else {
        return RAFT_EINVAL;
    }
    if (raft__voters(&c) == 0)
        return RAFT_EINVAL;
    struct raft_buf *b = raft_configuration_encode(&c);
    if (b == NULL)
        return RAFT_ENOMEM;
    int rv = raft__log_append(r, r->term, RAFT_CHANGE, b);
    raft_buf_unref(b);
    if (rv != 0)
        return rv;
    for (unsigned k = 0; k < r->conf.n; k++)
        if (r->conf.servers[k].id != r->id)
            raft__send_append(r, k, false);
    return 0;
}

/* A leader that is no longer a voter steps down once the configuration that
 * removed it is committed (§4.2.2). */
void raft__maybe_step_down_removed(struct raft *r)
{
    if (r->state == RAFT_LEADER && r->conf_index <= r->commit && !raft__is_voter(r, r->id))
        raft__become_follower(r, r->term, 0);
}
