/* scenario_check.c - a scenario's cross-field rules. */
#include "harness/scenario_check.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "harness/foreign.h"
#include "harness/scenario_read.h"

bool harness_fault_on_hosts(enum harness_fault v)
{
    /* Partitions, loss and duplication are each host's nft tables, delay and reordering a
     * faultline-delayer per host, clocks its libfaketime file, processes ssh + kill, disk
     * faults `faultline fs` there and corrupt-tail `faultline fs-ctl` (uploaded, nemesis/disk.h),
     * slow-isolate-leader the clock file and the nft table; figure-3-7 blocks a client port in
     * the node's namespace and needs five hosts (remote.h). */
    switch (v) {
    case HARNESS_FAULT_FIGURE_3_7:
        return false;
    default:
        return v < HARNESS_FAULT_COUNT;
    }
}

int harness_scenario_validate(const struct harness_scenario *s, const char *name, char *errmsg)
{
    struct harness__sc cx = {name, errmsg}, *c = &cx;
    const char *impl = harness_impl_name(s->implementation.impl);
    bool ref = s->implementation.impl == HARNESS_IMPL_REFERENCE;

    if (s->hosts[0] && s->implementation.impl != HARNESS_IMPL_REFERENCE &&
        s->implementation.impl != HARNESS_IMPL_ETCD &&
        s->implementation.impl != HARNESS_IMPL_PROCESS &&
        s->implementation.impl != HARNESS_IMPL_CLIENT)
        return harness__fail(c, FL_ESHAPE, "", "hosts",
                             "nodes on hosts run the reference node, etcd, or a process or "
                             "client implementation, not %s",
                             impl);
    for (int k = 0; s->hosts[0] && k < HARNESS_FAULT_COUNT; k++)
        if (s->nemesis.weights[k] > 0 && !harness_fault_on_hosts((enum harness_fault)k))
            return harness__fail(
                c, FL_ESHAPE, "nemesis", "faults",
                "%s does not run on hosts yet (partitions, loss, duplicate, delay, reorder, "
                "pause, kill, clock, disk, membership and slow-isolate-leader faults do)",
                harness_fault_name(k));

    if (s->implementation.bug != HARNESS_BUG_NONE && !ref)
        return harness__fail(c, FL_ESHAPE, "implementation", "bug",
                             "planted bugs exist only in the reference implementation, not %s",
                             impl);
    if (harness_scenario_is_foreign(s) && !s->implementation.options.binary[0] &&
        strstr(s->implementation.options.foreign, "\"processes\":") == NULL)
        return harness__fail(
            c, FL_ESHAPE, "implementation.options", "binary",
            "required for the %s implementation (the program to start per node), or "
            "processes",
            impl);
    if (harness_scenario_is_foreign(s)) {
        json_t *o = harness_scenario_impl_options(s);
        int rc = o == NULL
                     ? fl_errorf(errmsg, FL_ENOMEM, "out of memory")
                     : harness_foreign_check(o, name, s->nodes.count + s->nodes.passive,
                                             s->implementation.impl == HARNESS_IMPL_CLIENT, errmsg);
        json_decref(o);
        if (rc != 0)
            return rc;
    }
    if (!harness_scenario_is_foreign(s) &&
        s->implementation.options.heartbeat_ms >= s->implementation.options.election_timeout_ms)
        return harness__fail(c, FL_ESHAPE, "implementation.options", "heartbeat_ms",
                             "must be less than election_timeout_ms (%u), got %u",
                             s->implementation.options.election_timeout_ms,
                             s->implementation.options.heartbeat_ms);
    if (s->nodes.count + s->nodes.passive > HARNESS_SCENARIO_MAX_NODES)
        return harness__fail(c, FL_ELIMIT, "nodes", "passive",
                             "count + passive must be at most %d, got %u + %u",
                             HARNESS_SCENARIO_MAX_NODES, s->nodes.count, s->nodes.passive);
    if (s->nodes.passive && !ref)
        return harness__fail(c, FL_ESHAPE, "nodes", "passive",
                             "passive members exist only in the reference implementation, not %s",
                             impl);
    if (s->nemesis.options.kill_lose_unfsynced && !ref)
        return harness__fail(
            c, FL_ESHAPE, "nemesis.options.kill", "lose_unfsynced",
            "needs the reference implementation (its test hook drops unsynced writes)");

    /* Workload. */
    unsigned total = 0;
    for (int i = 0; i < HARNESS_OP_COUNT; i++) {
        if (s->workload.mix[i] && !harness_model_has_op(s->workload.model, i)) {
            char ops[64] = "";
            size_t len = 0;
            for (int j = 0; j < HARNESS_OP_COUNT; j++)
                if (harness_model_has_op(s->workload.model, j))
                    len += (size_t)snprintf(ops + len, sizeof(ops) - len, "%s%s", len ? ", " : "",
                                            harness_op_name(j));
            return harness__fail(c, FL_ESHAPE, "workload.mix", harness_op_name(i),
                                 "the %s model has no %s operation (its operations: %s)",
                                 harness_model_name(s->workload.model), harness_op_name(i), ops);
        }
        total += s->workload.mix[i];
    }
    if (total == 0)
        return harness__fail(
            c, FL_ESHAPE, NULL, "workload.mix",
            "every weight is 0; give at least one operation of the %s model a weight",
            harness_model_name(s->workload.model));
    if (s->workload.value_bytes &&
        (s->workload.model == HARNESS_MODEL_COUNTER || s->workload.model == HARNESS_MODEL_SET))
        return harness__fail(c, FL_ESHAPE, "workload", "value_bytes",
                             "the %s model uses integers; value_bytes must be 0",
                             harness_model_name(s->workload.model));
    /* The reference node takes 64 KiB of value JSON per operation (node/PROTOCOL.md
     * "Limits"); a cas carries two values: [old, new] in quotes, a comma, brackets. */
    if (s->implementation.impl == HARNESS_IMPL_REFERENCE && s->workload.value_bytes > 32765)
        return harness__fail(
            c, FL_ESHAPE, "workload", "value_bytes",
            "%u is over 32765, the most the reference node takes (a cas carries two "
            "values in its 64 KiB value limit)",
            s->workload.value_bytes);
    if (s->implementation.impl == HARNESS_IMPL_ETCD &&
        s->workload.read_consistency == HARNESS_READ_LEASE)
        return harness__fail(
            c, FL_ESHAPE, "workload", "read_consistency",
            "etcd has no lease reads to choose; use \"linearizable\" or \"sequential\" "
            "(serializable)");
    if (s->implementation.impl == HARNESS_IMPL_ETCD &&
        s->workload.model != HARNESS_MODEL_REGISTER && s->workload.model != HARNESS_MODEL_KV &&
        s->workload.model != HARNESS_MODEL_RW_REGISTER)
        return harness__fail(
            c, FL_ESHAPE, "workload", "model",
            "the etcd adapter drives the register, kv and rw-register models only, not %s",
            harness_model_name(s->workload.model));

    bool txn = s->workload.model == HARNESS_MODEL_LIST_APPEND ||
               s->workload.model == HARNESS_MODEL_RW_REGISTER;
    if (txn && s->implementation.impl != HARNESS_IMPL_CLIENT &&
        s->implementation.impl != HARNESS_IMPL_REFERENCE &&
        s->implementation.impl != HARNESS_IMPL_ETCD)
        return harness__fail(
            c, FL_ESHAPE, "workload", "model",
            "the %s transactions run on the reference node, etcd (rw-register) or through a "
            "client program (impl \"client\", workloads/CLIENT_PROTOCOL.md); the %s "
            "implementation has no txn operation",
            harness_model_name(s->workload.model), harness_impl_name(s->implementation.impl));
    if (txn && s->workload.value_bytes)
        return harness__fail(c, FL_ESHAPE, "workload", "value_bytes",
                             "the %s model uses integers; value_bytes must be 0",
                             harness_model_name(s->workload.model));

    /* Checkers. */
    bool any = false;
    for (int i = 0; i < HARNESS_CHECKER_COUNT; i++)
        any = any || s->checkers[i];
    if (!any)
        return harness__fail(c, FL_ESHAPE, NULL, "checkers", "expected at least one checker");
    if (s->workload.model == HARNESS_MODEL_COUNTER && !s->checkers[HARNESS_CHECKER_COUNTER])
        return harness__fail(c, FL_ESHAPE, NULL, "checkers",
                             "the counter workload needs the \"counter\" checker");
    if (s->workload.model == HARNESS_MODEL_SET && !s->checkers[HARNESS_CHECKER_SET])
        return harness__fail(c, FL_ESHAPE, NULL, "checkers",
                             "the set workload needs the \"set\" checker");
    if (s->checkers[HARNESS_CHECKER_COUNTER] && s->workload.model != HARNESS_MODEL_COUNTER)
        return harness__fail(c, FL_ESHAPE, NULL, "checkers",
                             "the \"counter\" checker applies to the counter workload only, not %s",
                             harness_model_name(s->workload.model));
    if (s->checkers[HARNESS_CHECKER_SET] && s->workload.model != HARNESS_MODEL_SET)
        return harness__fail(c, FL_ESHAPE, NULL, "checkers",
                             "the \"set\" checker applies to the set workload only, not %s",
                             harness_model_name(s->workload.model));
    if (txn && !s->checkers[HARNESS_CHECKER_TXN])
        return harness__fail(c, FL_ESHAPE, NULL, "checkers",
                             "the %s workload needs the \"txn\" checker",
                             harness_model_name(s->workload.model));
    if (txn && s->checkers[HARNESS_CHECKER_LINEARIZABLE])
        return harness__fail(
            c, FL_ESHAPE, NULL, "checkers",
            "the \"linearizable\" checker has no model for %s transactions; use \"txn\"",
            harness_model_name(s->workload.model));
    if (s->checkers[HARNESS_CHECKER_TXN] && !txn)
        return harness__fail(
            c, FL_ESHAPE, NULL, "checkers",
            "the \"txn\" checker applies to the list-append and rw-register workloads "
            "only, not %s",
            harness_model_name(s->workload.model));
    if (s->workload.model == HARNESS_MODEL_SET && !s->phases.final_reads)
        return harness__fail(
            c, FL_ESHAPE, "phases", "final_reads",
            "the set checker compares adds with a final read; final_reads must be true");

    /* Nemesis. */
    if (s->nemesis.jitter_ms > s->nemesis.interval_ms ||
        s->nemesis.jitter_ms > s->nemesis.duration_ms)
        return harness__fail(c, FL_ESHAPE, "nemesis", "jitter_ms",
                             "must not exceed interval_ms (%u) or duration_ms (%u), got %u",
                             s->nemesis.interval_ms, s->nemesis.duration_ms, s->nemesis.jitter_ms);
    if (s->nemesis.options.clock_rate_min > s->nemesis.options.clock_rate_max)
        return harness__fail(c, FL_ESHAPE, "nemesis.options.clock-rate", "min",
                             "must not exceed max (%g), got %g", s->nemesis.options.clock_rate_max,
                             s->nemesis.options.clock_rate_min);
    if (s->nemesis.options.delay_jitter_ms > s->nemesis.options.delay_ms)
        return harness__fail(c, FL_ESHAPE, "nemesis.options.delay", "jitter_ms",
                             "must not exceed ms (%u), got %u", s->nemesis.options.delay_ms,
                             s->nemesis.options.delay_jitter_ms);
    uint64_t prev_heal = 0;
    for (unsigned i = 0; s->nemesis.explicit_schedule && i < s->nemesis.n_steps; i++) {
        const struct harness_step *st = &s->nemesis.steps[i];
        char path[48];
        snprintf(path, sizeof(path), "nemesis.schedule[%u]", i);
        if ((unsigned)st->kind >= HARNESS_FAULT_COUNT || !s->nemesis.weights[st->kind])
            return harness__fail(
                c, FL_ESHAPE, path, "kind",
                "\"%s\" is not in nemesis.kinds (the kinds' rules apply to the steps)",
                harness_fault_name(st->kind));
        if (st->heal_ms <= st->at_ms)
            return harness__fail(c, FL_ESHAPE, path, "heal_ms", "must be after at_ms (%u), got %u",
                                 st->at_ms, st->heal_ms);
        if (st->at_ms < prev_heal)
            return harness__fail(
                c, FL_ESHAPE, path, "at_ms",
                "steps run one at a time: must not be before the previous heal (%llu), "
                "got %u",
                (unsigned long long)prev_heal, st->at_ms);
        if ((uint64_t)st->heal_ms > (uint64_t)s->phases.faults_s * 1000)
            return harness__fail(
                c, FL_ESHAPE, path, "heal_ms",
                "must be within the fault phase (phases.faults_s = %u s), got %u ms",
                s->phases.faults_s, st->heal_ms);
        if (st->spare >> (s->nodes.count + s->nodes.passive))
            return harness__fail(c, FL_ESHAPE, path, "spare", "names a node beyond n%u",
                                 s->nodes.count + s->nodes.passive);
        prev_heal = st->heal_ms;
    }
    for (int k = 0; k < HARNESS_FAULT_COUNT; k++) {
        if (!s->nemesis.weights[k])
            continue;
        if (harness_fault_is_clock(k) && s->implementation.impl == HARNESS_IMPL_ETCD)
            return harness__fail(c, FL_ESHAPE, "nemesis.kinds", harness_fault_name(k),
                                 "clock faults do not apply to etcd or static binaries (they need "
                                 "libfaketime in a dynamically linked node)");
        if (harness_fault_is_clock(k) && harness_scenario_is_foreign(s) &&
            !s->implementation.options.dynamic)
            return harness__fail(
                c, FL_ESHAPE, "nemesis.kinds", harness_fault_name(k),
                "clock faults do not apply to etcd or static binaries (libfaketime); set "
                "implementation.options.dynamic if this binary is dynamically linked");
        if (k == HARNESS_FAULT_FIGURE_3_7 && (!ref || s->nodes.count != 5 || s->nodes.passive != 0))
            return harness__fail(
                c, FL_ESHAPE, "nemesis.kinds", harness_fault_name(k),
                "figure-3-7 needs the reference implementation (it reads the nodes' "
                "commit index) and exactly 5 voting nodes, no passive member");
        if (k == HARNESS_FAULT_FIGURE_3_7 &&
            s->nemesis.options.delay_ms >= s->implementation.options.election_timeout_ms)
            return harness__fail(
                c, FL_ESHAPE, "nemesis.options.delay", "ms",
                "figure-3-7 needs a delay below the election timeout (%u ms), got %u",
                s->implementation.options.election_timeout_ms, s->nemesis.options.delay_ms);
        if (k == HARNESS_FAULT_CORRUPT_TAIL && !ref)
            return harness__fail(c, FL_ESHAPE, "nemesis.kinds", harness_fault_name(k),
                                 "corrupt-tail damages the reference node's log files, not %s's",
                                 impl);
        if (harness_fault_is_membership(k) && !ref)
            return harness__fail(c, FL_ESHAPE, "nemesis.kinds", harness_fault_name(k),
                                 "membership faults need the reference implementation, not %s",
                                 impl);
        if (k == HARNESS_FAULT_MEMBERSHIP_PROMOTE && s->nodes.passive == 0)
            return harness__fail(c, FL_ESHAPE, "nemesis.kinds", harness_fault_name(k),
                                 "needs a passive member to promote (nodes.passive >= 1)");
        if (k == HARNESS_FAULT_KILL_ALL && s->nodes.count < 2)
            return harness__fail(c, FL_ESHAPE, "nemesis.kinds", harness_fault_name(k),
                                 "with 1 node kill-all is kill-one; use kill-one");
        if (s->nodes.count < harness_fault_min_nodes(k))
            return harness__fail(c, FL_ESHAPE, "nemesis.kinds", harness_fault_name(k),
                                 "needs at least %u nodes (nodes.count is %u)",
                                 harness_fault_min_nodes(k), s->nodes.count);
    }
    return 0;
}
