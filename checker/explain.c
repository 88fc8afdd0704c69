/* explain.c - renders linearizability results for people and for tools. */
#include "checker/explain.h"

#include "common/edn.h"

#include <stdio.h>

static void key_text(const struct checker_history *h, uint32_t key_id, struct fl_buf *out)
{
    if (key_id == 0 || key_id >= h->n_keys || !h->keys[key_id]) {
        fl_buf_puts(out, "(no key)");
        return;
    }
    char *s = fl_edn_value_text(h->keys[key_id]);
    fl_buf_puts(out, s ? s : "?");
    free(s);
}

void checker_explain_text(const struct checker_history *h, const struct checker_result *res,
                          size_t prefix_tail, struct fl_buf *out)
{
    if (res->verdict != CHECKER_INVALID || !res->has_cex)
        return;
    const struct checker_counterexample *c = &res->cex;
    fl_buf_puts(out, "  key ");
    key_text(h, c->key_id, out);
    fl_buf_printf(out, ": cannot linearize %s\n", c->op_desc ? c->op_desc : "?");
    if (c->rule) { /* decided by the unique-value procedure: no states, no prefix */
        fl_buf_printf(out, "  because %s\n", c->rule);
        for (size_t i = 0; i < c->n_concurrent; i++)
            fl_buf_printf(out, "  the conflicting operation: %s\n", c->concurrent_desc[i]);
        return;
    }
    fl_buf_puts(out, "  states reachable just before it:");
    for (size_t i = 0; i < c->n_states; i++)
        fl_buf_printf(out, "%s%s", i ? ", " : " ", c->states[i]);
    if (c->n_states == 0)
        fl_buf_puts(out, " (none)");
    fl_buf_puts(out, "\n  no state allows it; concurrent operations:\n");
    for (size_t i = 0; i < c->n_concurrent; i++)
        fl_buf_printf(out, "    %s\n", c->concurrent_desc[i]);
    if (c->n_concurrent == 0)
        fl_buf_puts(out, "    (none)\n");
    size_t start = 0;
    if (prefix_tail && c->n_prefix > prefix_tail)
        start = c->n_prefix - prefix_tail;
    fl_buf_printf(out, "  longest linearizable prefix: %zu operations", c->n_prefix);
    if (start)
        fl_buf_printf(out, ", the last %zu:\n", c->n_prefix - start);
    else
        fl_buf_puts(out, c->n_prefix ? ":\n" : "\n");
    for (size_t i = start; i < c->n_prefix; i++)
        fl_buf_printf(out, "    %zu. %s\n", i + 1, c->prefix_desc[i]);
}

json_t *checker_hop_json(const struct checker_history *h, size_t idx, const char *desc)
{
    const struct checker_hop *op = &h->ops[idx];
    json_t *o =
        json_pack("{s:I, s:s, s:s, s:O, s:I, s:I}", "process", (json_int_t)op->process, "type",
                  fl_event_type_name(op->status), "f", op->f, "value", op->value, "invoke_line",
                  (json_int_t)op->call_line, "invoke_index", (json_int_t)op->call);
    if (!o)
        return NULL;
    if (op->status != FL_EVENT_INFO) {
        json_object_set_new(o, "complete_line", json_integer((json_int_t)op->ret_line));
        json_object_set_new(o, "complete_index", json_integer((json_int_t)op->ret));
    }
    if (op->key)
        json_object_set(o, "key", op->key);
    if (desc)
        json_object_set_new(o, "description", json_string(desc));
    return o;
}

json_t *checker_minimized_json(const struct checker_history *h, const struct checker_minimized *m)
{
    json_t *ops = json_array();
    for (size_t i = 0; ops && i < m->n_ops; i++)
        if (json_array_append_new(ops, checker_hop_json(h, m->ops[i], NULL)) != 0) {
            json_decref(ops);
            return NULL;
        }
    return json_pack("{s:o, s:I, s:I, s:I, s:b, s:b, s:f, s:f}", "operations", ops, "from",
                     (json_int_t)m->n_start, "candidates", (json_int_t)m->candidates, "undecided",
                     (json_int_t)m->undecided, "out_of_time", m->out_of_time, "minimal",
                     m->complete, "seconds", m->seconds, "budget_s", m->budget_s);
}

json_t *checker_explain_json(const struct checker_history *h, const struct checker_result *res)
{
    json_t *o = json_pack(
        "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:f, s:s}", "file", h->path, "verdict",
        checker_verdict_name(res->verdict), "operations", (json_int_t)res->n_ops, "indeterminate",
        (json_int_t)res->n_crashed, "keys", (json_int_t)res->n_keys, "configurations",
        (json_int_t)res->configs, "peak_memory_bytes", (json_int_t)res->peak_memory, "seconds",
        res->seconds, "format", fl_history_format_name(h->format));
    if (!o)
        return NULL;
    json_object_set_new(o, "events", json_integer((json_int_t)h->n_events));
    json_object_set_new(o, "ok", json_integer((json_int_t)h->n_ok));
    json_object_set_new(o, "fail", json_integer((json_int_t)h->n_fail));
    json_object_set_new(o, "info", json_integer((json_int_t)h->n_info));
    if (res->reason[0])
        json_object_set_new(o, "reason", json_string(res->reason));
    json_object_set_new(o, "keys_unchecked", json_integer((json_int_t)res->n_unchecked));
    char proc[96];
    json_object_set_new(o, "procedure",
                        json_string(checker_result_procedure(res, proc, sizeof proc)));
    json_object_set_new(o, "keys_unique_values", json_integer((json_int_t)res->n_unique));
    if (res->refused)
        json_object_set_new(o, "refused", json_string(res->refused));
    if (res->verdict == CHECKER_INVALID && res->has_cex) {
        const struct checker_counterexample *c = &res->cex;
        json_t *cex = json_object();
        json_t *prefix = json_array(), *states = json_array(), *conc = json_array();
        if (!cex || !prefix || !states || !conc) {
            json_decref(cex);
            json_decref(prefix);
            json_decref(states);
            json_decref(conc);
            json_decref(o);
            return NULL;
        }
        if (c->key_id && c->key_id < h->n_keys)
            json_object_set(cex, "key", h->keys[c->key_id]);
        json_object_set_new(cex, "op", checker_hop_json(h, c->op, c->op_desc));
        if (c->rule)
            json_object_set_new(cex, "rule", json_string(c->rule));
        for (size_t i = 0; i < c->n_states; i++)
            json_array_append_new(states, json_string(c->states[i]));
        for (size_t i = 0; i < c->n_concurrent; i++)
            json_array_append_new(conc, checker_hop_json(h, c->concurrent[i], c->concurrent_desc[i]));
        for (size_t i = 0; i < c->n_prefix; i++)
            json_array_append_new(prefix, checker_hop_json(h, c->prefix[i], c->prefix_desc[i]));
        json_object_set_new(cex, "states_before", states);
        json_object_set_new(cex, "concurrent", conc);
        json_object_set_new(cex, "prefix_length", json_integer((json_int_t)c->n_prefix));
        json_object_set_new(cex, "prefix", prefix);
        json_object_set_new(o, "counterexample", cex);
    }
    return o;
}
