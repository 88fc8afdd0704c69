/* runner.c - workload processes: generate, invoke through an adapter, record every event. */
#include "workloads/runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"

/* ==== History ==== */

int workload_history_open(struct workload_history *h, const char *path, uint64_t t0_ns,
                          char *errmsg)
{
    memset(h, 0, sizeof *h);
    h->t0_ns = t0_ns;
    return fl_history_writer_open(&h->w, path, FL_FORMAT_JSONL, errmsg);
}

int workload_history_record(struct workload_history *h, int64_t process, enum fl_event_type type,
                            const char *f, const json_t *key, const json_t *value,
                            const char *node, const char *consistency, const char *error)
{
    if (h->failed != 0)
        return h->failed;
    json_t *err = error != NULL && error[0] != '\0' ? json_stringn(error, strnlen(error, 200)) : NULL;
    struct fl_event ev;
    fl_event_init(&ev);
    ev.index = h->next_index++;
    ev.time = (int64_t)(uv_hrtime() - h->t0_ns);
    ev.process = process;
    ev.type = type;
    /* The event borrows; fl_event_clear is not called on these pointers. */
    ev.f = (char *)f;
    ev.key = (json_t *)key;
    ev.value = (json_t *)value;
    ev.node = (char *)node;
    ev.consistency = (char *)consistency;
    ev.error = err; /* NULL also when the text is not UTF-8 */
    int rv = fl_history_writer_write(&h->w, &ev, h->errmsg);
    json_decref(err);
    if (rv != 0)
        h->failed = rv;
    if (process != FL_PROCESS_NEMESIS) {
        if (type == FL_EVENT_INVOKE)
            h->invoke++;
        else if (type == FL_EVENT_OK)
            h->ok++;
        else if (type == FL_EVENT_FAIL)
            h->fail++;
        else
            h->info++;
        char *end = NULL;
        long k = type != FL_EVENT_INVOKE && node != NULL && node[0] == 'n' && node[1] != '\0'
                     ? strtol(node + 1, &end, 10)
                     : 0;
        if (k >= 1 && k <= WORKLOAD_MAX_NODES && end != NULL && *end == '\0') {
            h->named++;
            if (type == FL_EVENT_OK)
                h->ok_node[k - 1]++;
        }
    }
    return rv;
}

int workload_history_record_json(struct workload_history *h, json_t *obj)
{
    if (h->failed != 0)
        return h->failed;
    json_object_set_new(obj, "index", json_integer(h->next_index++));
    json_object_set_new(obj, "time", json_integer((json_int_t)(uv_hrtime() - h->t0_ns)));
    struct fl_event ev;
    fl_event_init(&ev);
    int rv = fl_event_from_json(obj, &ev, h->errmsg);
    if (rv == 0)
        rv = fl_history_writer_write(&h->w, &ev, h->errmsg);
    fl_event_clear(&ev);
    if (rv != 0)
        h->failed = rv;
    return rv;
}

int workload_history_flush(struct workload_history *h)
{
    if (h->failed != 0)
        return h->failed;
    int rv = fl_history_writer_flush(&h->w, h->errmsg);
    if (rv != 0)
        h->failed = rv;
    return rv;
}

int workload_history_close(struct workload_history *h, char *errmsg)
{
    return fl_history_writer_close(&h->w, errmsg);
}

/* ==== Processes ==== */

enum { PHASE_RUN = 0, PHASE_FINAL, PHASE_CLOSING };

struct workload_slot {
    struct workload_runner *r;
    unsigned i;
    int64_t process;
    void *client; /* NULL while (re)opening or closed */
    uv_timer_t timer;
    struct workload_call call;
    json_t *op;
    bool busy;
    unsigned final_tries;
    uint64_t final_key; /* index into final_keys */
    uint64_t next_at;   /* rate limit: earliest start of the next op */
    bool queued;        /* in r->ready */
    bool issuing;       /* inside issue(): a completion now is synchronous ("not sent") */
};

static void issue(struct workload_slot *s);
static void on_timer(uv_timer_t *t);

static void maybe_idle(struct workload_runner *r)
{
    if (r->idle_cb == NULL)
        return;
    bool idle;
    if (r->phase == PHASE_CLOSING)
        idle = r->open_clients == 0;
    else if (r->phase == PHASE_FINAL)
        idle = r->final_done >= r->n_final && r->in_flight == 0;
    else
        idle = !r->running && r->in_flight == 0;
    if (!idle)
        return;
    void (*cb)(void *) = r->idle_cb;
    r->idle_cb = NULL;
    cb(r->idle_data);
}

static void on_client_closed(void *data)
{
    struct workload_runner *r = data;
    r->open_clients--;
    maybe_idle(r);
}

static int open_client(struct workload_slot *s)
{
    struct workload_runner *r = s->r;
    int rv = r->adapter->client_open(&s->client, r->loop, r->cluster, r->c.op_timeout_ms,
                                     r->errmsg);
    if (rv == 0)
        r->open_clients++;
    else
        s->client = NULL;
    return rv;
}

/* A process whose operation ended unknown retires; a new one takes over. */
static void retire(struct workload_slot *s)
{
    struct workload_runner *r = s->r;
    if (s->client != NULL)
        r->adapter->client_close(s->client, on_client_closed, r);
    s->client = NULL;
    s->process = r->next_process++;
    if (r->phase != PHASE_CLOSING)
        open_client(s);
}

static const char *consistency_name(enum workload_consistency c)
{
    return c == WORKLOAD_LEASE ? "lease" : c == WORKLOAD_SEQUENTIAL ? "sequential" : "linearizable";
}

static bool is_read(const char *f)
{
    return strcmp(f, "read") == 0;
}

/* The value an invoke records: reads and dequeues have none yet. */
static const json_t *invoke_value(const json_t *op, const char *f)
{
    if (is_read(f) || strcmp(f, "dequeue") == 0)
        return json_null();
    return json_object_get(op, "value");
}

static void on_ready(uv_check_t *h)
{
    struct workload_runner *r = h->data;
    /* A slot's own issue() never queues it again (schedule: a timer then), so
     * this ends even when every operation fails at once. */
    while (r->n_ready > 0) {
        struct workload_slot *s = r->ready[--r->n_ready];
        s->queued = false;
        issue(s);
    }
    uv_check_stop(h);
}

static void schedule(struct workload_slot *s)
{
    struct workload_runner *r = s->r;
    uint64_t now = uv_now(r->loop), delay = 0;
    if (r->c.rate_per_s > 0 && r->phase == PHASE_RUN) {
        uint64_t gap = (uint64_t)(1000.0 * r->c.concurrency / r->c.rate_per_s);
        if (s->next_at > now)
            delay = s->next_at - now;
        s->next_at = (s->next_at > now ? s->next_at : now) + gap;
    }
    /* At once: after this loop iteration's callbacks, without a timer (a timer
     * started and stopped per operation was ~3% of the harness at 128 clients).
     * From inside issue() (an op not sent, a client that cannot open): the timer,
     * the next iteration, as before. */
    if (delay == 0 && r->phase == PHASE_RUN && !s->issuing) {
        if (!s->queued) {
            s->queued = true;
            r->ready[r->n_ready++] = s;
            uv_check_start(&r->ready_check, on_ready);
        }
        return;
    }
    uv_timer_start(&s->timer, on_timer, delay, 0);
}

static void on_done(struct workload_call *call)
{
    struct workload_slot *s = call->data;
    struct workload_runner *r = s->r;
    const char *f = json_string_value(json_object_get(s->op, "f"));
    const json_t *key = json_object_get(s->op, "key");
    const char *cons = is_read(f) ? consistency_name(call->consistency) : NULL;
    /* A committed transaction whose reads did not come back is no evidence
     * of what it read: indeterminate, as an info. */
    if (call->outcome == WORKLOAD_OK && strcmp(f, "txn") == 0 && !json_is_array(call->value))
        call->outcome = WORKLOAD_UNKNOWN;
    enum fl_event_type type = call->outcome == WORKLOAD_OK     ? FL_EVENT_OK
                              : call->outcome == WORKLOAD_FAIL ? FL_EVENT_FAIL
                                                               : FL_EVENT_INFO;
    const json_t *value = invoke_value(s->op, f);
    if (call->outcome == WORKLOAD_OK && (is_read(f) || strcmp(f, "dequeue") == 0))
        value = call->value != NULL ? call->value : json_null();
    /* A committed transaction: the adapter's micro-ops with the reads filled in. */
    if (call->outcome == WORKLOAD_OK && strcmp(f, "txn") == 0)
        value = call->value;
    workload_history_record(r->history, s->process, type, f, key, value, call->node, cons,
                            call->outcome == WORKLOAD_OK ? NULL : call->error);
    json_decref(call->value);
    call->value = NULL;
    s->busy = false;
    r->in_flight--;
    bool unknown = call->outcome == WORKLOAD_UNKNOWN;
    if (r->phase == PHASE_FINAL) {
        if (call->outcome != WORKLOAD_OK && uv_now(r->loop) < r->final_deadline) {
            /* Read the same key again: a fresh process after unknown, as in Jepsen. */
            s->final_tries++;
            if (unknown)
                retire(s);
            json_decref(s->op);
            s->op = NULL;
            uv_timer_start(&s->timer, on_timer, WORKLOAD_FINAL_RETRY_MS, 0);
            return;
        }
        r->final_done++;
        s->final_key = UINT64_MAX;
    }
    json_decref(s->op);
    s->op = NULL;
    if (unknown)
        retire(s);
    if (r->phase == PHASE_RUN && r->running)
        schedule(s);
    else if (r->phase == PHASE_FINAL)
        schedule(s);
    maybe_idle(r);
}

static void issue(struct workload_slot *s)
{
    struct workload_runner *r = s->r;
    if (s->busy || r->phase == PHASE_CLOSING)
        return;
    if (r->phase == PHASE_RUN && !r->running)
        return;
    if (s->client == NULL && open_client(s) != 0) {
        s->issuing = true;
        schedule(s); /* try again later */
        s->issuing = false;
        return;
    }
    json_t *op;
    enum workload_consistency cons = r->c.consistency;
    if (r->phase == PHASE_FINAL) {
        if (s->final_key == UINT64_MAX) {
            if (r->final_next >= r->n_final) {
                maybe_idle(r);
                return;
            }
            s->final_key = r->final_next++;
            s->final_tries = 0;
        }
        op = workload_generator_read(&r->gen, r->final_keys[s->final_key]);
        cons = WORKLOAD_LINEARIZABLE;
    } else {
        op = workload_generator_next(&r->gen);
    }
    if (op == NULL)
        return;
    s->op = op;
    const char *f = json_string_value(json_object_get(op, "f"));
    workload_history_record(r->history, s->process, FL_EVENT_INVOKE, f, json_object_get(op, "key"),
                            invoke_value(op, f), NULL, is_read(f) ? consistency_name(cons) : NULL,
                            NULL);
    memset(&s->call, 0, sizeof s->call);
    s->call.op = op;
    s->call.consistency = cons;
    s->call.timeout_ms = r->c.op_timeout_ms;
    s->call.cb = on_done;
    s->call.data = s;
    s->busy = true;
    r->in_flight++;
    s->issuing = true;
    if (r->adapter->invoke(s->client, &s->call) != 0) {
        /* Never sent: it certainly did not take effect. */
        s->call.outcome = WORKLOAD_FAIL;
        s->call.error = "not sent";
        on_done(&s->call);
    }
    s->issuing = false;
}

static void on_timer(uv_timer_t *t)
{
    issue(t->data);
}

/* ==== Lifecycle ==== */

int workload_runner_init(struct workload_runner *r, uv_loop_t *loop,
                         const struct workload_runner_config *c,
                         const struct workload_adapter *adapter,
                         const struct workload_cluster *cluster, struct workload_history *history,
                         char *errmsg)
{
    memset(r, 0, sizeof *r);
    r->loop = loop;
    r->c = *c;
    if (r->c.concurrency == 0)
        r->c.concurrency = 1;
    r->adapter = adapter;
    r->cluster = cluster;
    r->history = history;
    int rv = workload_generator_init(&r->gen, &c->gen);
    if (rv != 0)
        return fl_errorf(errmsg, rv, "workload: out of memory");
    r->slots = fl_calloc(r->c.concurrency, sizeof *r->slots);
    r->ready = fl_calloc(r->c.concurrency, sizeof *r->ready);
    if (r->slots == NULL || r->ready == NULL) {
        fl_free(r->slots);
        fl_free(r->ready);
        workload_generator_close(&r->gen);
        return fl_errorf(errmsg, FL_ENOMEM, "workload: out of memory");
    }
    uv_check_init(loop, &r->ready_check);
    r->ready_check.data = r;
    for (unsigned i = 0; i < r->c.concurrency; i++) {
        struct workload_slot *s = &r->slots[i];
        s->r = r;
        s->i = i;
        s->process = r->next_process++;
        s->final_key = UINT64_MAX;
        uv_timer_init(loop, &s->timer);
        s->timer.data = s;
    }
    return 0;
}

void workload_runner_start(struct workload_runner *r)
{
    r->running = true;
    r->phase = PHASE_RUN;
    for (unsigned i = 0; i < r->c.concurrency; i++) {
        struct workload_slot *s = &r->slots[i];
        if (s->client == NULL && open_client(s) != 0)
            continue;
        /* Stagger the first operations over a few milliseconds. */
        uv_timer_start(&s->timer, on_timer, i % 10, 0);
    }
}

void workload_runner_stop(struct workload_runner *r, void (*cb)(void *data), void *data)
{
    r->running = false;
    r->idle_cb = cb;
    r->idle_data = data;
    maybe_idle(r);
}

void workload_runner_final_reads(struct workload_runner *r, void (*cb)(void *data), void *data)
{
    r->phase = PHASE_FINAL;
    r->running = false;
    uint64_t n = workload_generator_keys(&r->gen, NULL, 0);
    r->final_keys = fl_calloc(n ? n : 1, sizeof *r->final_keys);
    if (r->final_keys != NULL)
        r->n_final = workload_generator_keys(&r->gen, r->final_keys, n);
    r->final_next = r->final_done = 0;
    uint64_t budget = r->c.final_budget_ms;
    if (budget == 0)
        budget = r->c.op_timeout_ms * 3 > 10000 ? r->c.op_timeout_ms * 3 : 10000;
    r->final_deadline = uv_now(r->loop) + budget;
    r->idle_cb = cb;
    r->idle_data = data;
    for (unsigned i = 0; i < r->c.concurrency; i++) {
        struct workload_slot *s = &r->slots[i];
        s->final_key = UINT64_MAX;
        if (!s->busy)
            uv_timer_start(&s->timer, on_timer, 0, 0);
    }
    maybe_idle(r);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct workload_slot *s = h->data;
    s->r->open_clients--;
    maybe_idle(s->r);
}

static void on_ready_closed(uv_handle_t *h)
{
    struct workload_runner *r = h->data;
    r->open_clients--;
    maybe_idle(r);
}

void workload_runner_close(struct workload_runner *r, void (*cb)(void *data), void *data)
{
    r->phase = PHASE_CLOSING;
    r->running = false;
    r->idle_cb = cb;
    r->idle_data = data;
    r->open_clients++;
    uv_close((uv_handle_t *)&r->ready_check, on_ready_closed);
    for (unsigned i = 0; i < r->c.concurrency; i++) {
        struct workload_slot *s = &r->slots[i];
        /* Timers count as open handles until closed. */
        r->open_clients++;
        uv_close((uv_handle_t *)&s->timer, on_timer_closed);
        if (s->client != NULL) {
            void *c = s->client;
            s->client = NULL;
            r->adapter->client_close(c, on_client_closed, r);
        }
    }
    maybe_idle(r);
}

void workload_runner_free(struct workload_runner *r)
{
    for (uint64_t i = 0; i < r->n_final; i++)
        json_decref(r->final_keys[i]);
    fl_free(r->final_keys);
    for (unsigned i = 0; i < r->c.concurrency; i++)
        json_decref(r->slots[i].op);
    fl_free(r->slots);
    fl_free(r->ready);
    workload_generator_close(&r->gen);
}
