/* leadmon.c - who leads, asked of every node through the adapter. */
#include "harness/leadmon.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void harness_leadmon_init(struct harness_leadmon *r, const struct workload_adapter *adapter,
                          struct workload_cluster *cl)
{
    memset(r, 0, sizeof *r);
    r->adapter = adapter;
    r->cl = cl;
    r->leader = -1;
    snprintf(r->lead.why, sizeof r->lead.why, "not asked yet");
}

/* Every node is asked each round (adapter.h, the leader question); the
 * answer with the highest term decides (workload_leader_decide). */
static void lead_round_end(struct harness_leadmon *r)
{
    workload_leader_decide(r->answer, r->cl->n, &r->lead);
    r->leader = r->lead.state == WORKLOAD_LEADER_KNOWN ? r->lead.node : -1;
    for (unsigned i = 0; i < r->cl->n; i++) {
        json_decref(r->answer[i]);
        r->answer[i] = NULL;
    }
}

static void on_leader_answer(struct workload_call *call)
{
    struct harness_leadmon *r = call->data;
    unsigned i = (unsigned)(call - r->call);
    if (call->outcome == WORKLOAD_OK && call->value != NULL) {
        r->answer[i] = call->value; /* owned */
    } else {
        json_decref(call->value);
        if (call->error != NULL) /* why nobody answered, for the "no leader" message */
            snprintf(r->last_error, sizeof r->last_error, "%s", call->error);
    }
    call->value = NULL;
    if (--r->pending == 0)
        lead_round_end(r);
}

void harness_leadmon_ask(struct harness_leadmon *r)
{
    if (r->client == NULL || r->pending > 0)
        return;
    r->pending = 1; /* held until every question is out */
    for (unsigned i = 0; i < r->cl->n; i++) {
        struct workload_call *call = &r->call[i];
        memset(call, 0, sizeof *call);
        call->data = r;
        call->timeout_ms = 1000;
        call->cb = on_leader_answer;
        if (r->adapter->leader == NULL)
            r->answer[i] = json_pack("{s:b}", "unknown", 1);
        else if (r->adapter->leader(r->client, i, call) == 0)
            r->pending++;
    }
    if (--r->pending == 0)
        lead_round_end(r);
}

void harness_leadmon_text(const struct harness_leadmon *r, char *out, size_t len)
{
    if (r->lead.state == WORKLOAD_LEADER_KNOWN && r->lead.has_term)
        snprintf(out, len, "n%d (term %" PRId64 ")", r->lead.node + 1, r->lead.term);
    else if (r->lead.state == WORKLOAD_LEADER_KNOWN)
        snprintf(out, len, "n%d", r->lead.node + 1);
    else if (r->lead.state == WORKLOAD_LEADER_UNKNOWN)
        snprintf(out, len, "unknown (%s)", r->lead.why);
    else if (r->lead.answers == 0 && r->last_error[0] != '\0')
        snprintf(out, len, "none (%s; the last failure: %s)", r->lead.why, r->last_error);
    else
        snprintf(out, len, "none (%s)", r->lead.why);
}
