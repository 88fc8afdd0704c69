/* test_linear.c - the linearizability search: hand-made cases, the Knossos
 * corpus verdicts, and randomized agreement with a brute-force reference. */
#include "checker/check.h"
#include "checker/gen.h"
#include "checker/linear.h"
#include "common/error.h"
#include "common/rng.h"
#include "support/test_support.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static enum checker_verdict check_text(const char *jsonl, const char *model, size_t *n_prefix)
{
    struct checker_check_options opt = {
        .format = FL_FORMAT_AUTO, .nil_read_any = -1, .model = model};
    struct checker_history h;
    struct checker_result res;
    const struct checker_model_ops *used;
    char errmsg[FL_ERRMSG_SIZE] = "";
    const char *path = test_tmpfile(jsonl, ".jsonl");
    if (n_prefix) /* the search's counterexample (a prefix) is what is looked at */
        opt.limits.procedure = CHECKER_PROC_WGL;
    int rc = checker_check_file(path, &opt, &h, &res, &used, errmsg);
    cr_assert_eq(rc, 0, "check failed: %s", errmsg);
    enum checker_verdict v = res.verdict;
    if (n_prefix)
        *n_prefix = res.has_cex ? res.cex.n_prefix : (size_t)-1;
    checker_result_free(&res);
    checker_history_free(&h);
    return v;
}

Test(checker_linear, stale_read_after_acknowledged_write_is_invalid)
{
    size_t prefix;
    enum checker_verdict v =
        check_text("{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1}\n"
                   "{\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"value\":1}\n"
                   "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":2}\n"
                   "{\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"value\":2}\n"
                   "{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n"
                   "{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":1}\n",
                   NULL, &prefix);
    cr_assert_eq(v, CHECKER_INVALID);
    cr_assert_eq(prefix, 2, "both writes linearize before the read fails");
}

Test(checker_linear, concurrent_read_may_see_either_value)
{
    cr_assert_eq(check_text("{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1}\n"
                            "{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n"
                            "{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":1}\n"
                            "{\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"value\":1}\n",
                            NULL, NULL),
                 CHECKER_VALID);
}

Test(checker_linear, info_write_may_take_effect_late_or_never)
{
    const char *base = "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":7}\n"
                       "{\"process\":0,\"type\":\"info\",\"f\":\"write\",\"value\":7}\n"
                       "{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n"
                       "{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":null}\n"
                       "{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n"
                       "{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":7}\n";
    cr_assert_eq(check_text(base, NULL, NULL), CHECKER_VALID);
    /* But once seen, it cannot be unseen. */
    char buf[2048];
    snprintf(buf, sizeof buf,
             "%s{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n"
             "{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":null}\n",
             base);
    cr_assert_eq(check_text(buf, NULL, NULL), CHECKER_INVALID);
}

Test(checker_linear, failed_operation_never_took_effect)
{
    cr_assert_eq(check_text("{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":3}\n"
                            "{\"process\":0,\"type\":\"fail\",\"f\":\"write\",\"value\":3}\n"
                            "{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n"
                            "{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":3}\n",
                            NULL, NULL),
                 CHECKER_INVALID);
}

Test(checker_linear, keys_are_checked_independently)
{
    /* Each key alone is fine; a single register would not be. */
    cr_assert_eq(
        check_text(
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"a\",\"value\":1}\n"
            "{\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"key\":\"a\",\"value\":1}\n"
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"b\",\"value\":2}\n"
            "{\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"key\":\"b\",\"value\":2}\n"
            "{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"a\",\"value\":null}\n"
            "{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"key\":\"a\",\"value\":1}\n",
            NULL, NULL),
        CHECKER_VALID);
}

Test(checker_linear, timeout_turns_into_unknown_naming_the_budget)
{
    struct checker_gen_config cfg;
    checker_gen_defaults(&cfg);
    cfg.values = 5; /* repeated values: the search, not the unique-value procedure */
    cfg.n_ops = 20000;
    cfg.processes = 16;
    cfg.crash_rate = 0.01;
    cfg.mutate = true;
    cfg.seed = 7; /* a hard one: exhausting it takes far longer than the budget */
    char path[] = "/tmp/fltest-hard-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(checker_gen_write(&cfg, path, errmsg), 0, "%s", errmsg);
    struct checker_check_options opt = {.format = FL_FORMAT_AUTO, .nil_read_any = -1};
    opt.limits.max_memory = 8 << 20; /* 8 MiB: tiny, so memory runs out first */
    struct checker_history h;
    struct checker_result res;
    const struct checker_model_ops *used;
    cr_assert_eq(checker_check_file(path, &opt, &h, &res, &used, errmsg), 0, "%s", errmsg);
    unlink(path);
    /* Either the memory budget stops it, or (if this seed were easy) a real verdict. */
    if (res.verdict == CHECKER_UNKNOWN)
        cr_assert(strstr(res.reason, "--max-memory"), "reason names the budget: %s", res.reason);
    cr_assert(res.peak_memory <= (size_t)8 << 20, "peak %zu bytes within the budget",
              res.peak_memory);
    checker_result_free(&res);
    checker_history_free(&h);
}

/* Keys are searched in parallel, in rounds, and the search stops after the
 * first round with an invalid key; what is printed must not depend on thread
 * timing (the operation counts once did). */
Test(checker_linear, parallel_keys_give_the_same_result_every_time)
{
    struct checker_gen_config cfg;
    checker_gen_defaults(&cfg);
    cfg.n_ops = 4000;
    cfg.processes = 16;
    cfg.keys = 8;
    cfg.values = 1000;
    cfg.crash_rate = 0.005;
    cfg.mutate = true;
    cfg.seed = 45;
    char path[] = "/tmp/fltest-par-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(checker_gen_write(&cfg, path, errmsg), 0, "%s", errmsg);
    size_t ops = 0, crashed = 0, cex_hop = 0;
    for (int run = 0; run < 20; run++) {
        struct checker_check_options opt = {.format = FL_FORMAT_AUTO, .nil_read_any = -1};
        opt.limits.threads = 1 + run % 4;
        struct checker_history h;
        struct checker_result res;
        const struct checker_model_ops *used;
        cr_assert_eq(checker_check_file(path, &opt, &h, &res, &used, errmsg), 0, "%s", errmsg);
        cr_assert_eq(res.verdict, CHECKER_INVALID);
        cr_assert(res.has_cex);
        if (run == 0) {
            ops = res.n_ops;
            crashed = res.n_crashed;
            cex_hop = res.cex.op;
        }
        cr_assert_eq(res.n_ops, ops, "run %d: %zu ops, first run %zu", run, res.n_ops, ops);
        cr_assert_eq(res.n_crashed, crashed, "run %d", run);
        cr_assert_eq(res.cex.op, cex_hop, "run %d: same counterexample", run);
        checker_result_free(&res);
        checker_history_free(&h);
    }
    unlink(path);
}

/* Issue 14: once one key is invalid the verdict cannot change, so a hard
 * key must not keep the check busy (it once searched until --timeout). The
 * hard key (no key field: 3000 ops, 32 processes, 25% crashed, repeated
 * values) takes many seconds alone; the bad key is refuted in the first
 * round, and the hard one is then left unchecked and reported so. */
Test(checker_linear, invalid_key_ends_the_check_and_reports_keys_left_unchecked)
{
    struct checker_gen_config cfg;
    checker_gen_defaults(&cfg);
    cfg.n_ops = 3000;
    cfg.processes = 32;
    cfg.crash_rate = 0.25;
    cfg.values = 1000;
    cfg.seed = 7;
    char hard[] = "/tmp/fltest-early-XXXXXX";
    int fd = mkstemp(hard);
    cr_assert(fd >= 0);
    close(fd);
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(checker_gen_write(&cfg, hard, errmsg), 0, "%s", errmsg);
    char path[] = "/tmp/fltest-early2-XXXXXX";
    fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *out = fdopen(fd, "w"), *in = fopen(hard, "r");
    cr_assert(out && in);
    fputs("{\"process\":900,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"bad\",\"value\":1}\n"
          "{\"process\":900,\"type\":\"ok\",\"f\":\"write\",\"key\":\"bad\",\"value\":1}\n"
          "{\"process\":901,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"bad\",\"value\":null}\n"
          "{\"process\":901,\"type\":\"ok\",\"f\":\"read\",\"key\":\"bad\",\"value\":2}\n",
          out);
    char line[4096];
    while (fgets(line, sizeof line, in))
        fputs(line, out);
    fclose(in);
    fclose(out);
    unlink(hard);
    for (int threads = 1; threads <= 2; threads++) {
        struct checker_check_options opt = {.format = FL_FORMAT_AUTO, .nil_read_any = -1};
        opt.limits.threads = threads;
        struct checker_history h;
        struct checker_result res;
        const struct checker_model_ops *used;
        cr_assert_eq(checker_check_file(path, &opt, &h, &res, &used, errmsg), 0, "%s", errmsg);
        cr_assert_eq(res.verdict, CHECKER_INVALID);
        cr_assert_eq(res.n_keys, 2);
        cr_assert_eq(res.n_unchecked, 1, "the hard key is left unchecked (%zu)", res.n_unchecked);
        cr_assert(strstr(res.reason, "1 of 2 keys left unchecked"), "%s", res.reason);
        cr_assert(res.has_cex);
        cr_assert_eq(res.cex.op, 1, "the bad key's read is the counterexample");
        checker_result_free(&res);
        checker_history_free(&h);
    }
    unlink(path);
}

/* ==== Knossos corpus: every verdict in EXPECTED.tsv ==== */

Test(checker_linear, knossos_corpus_matches_expected_verdicts)
{
    FILE *fp = fopen(test_source_path("tests/data/knossos/EXPECTED.tsv"), "r");
    cr_assert(fp, "corpus index present");
    char line[8192];
    int n = 0, ok = 0;
    while (fgets(line, sizeof line, fp)) {
        char src[64], file[512], model[64], expected[64];
        if (sscanf(line, "%63[^\t]\t%511[^\t]\t%63[^\t]\t%63[^\t]", src, file, model, expected) !=
                4 ||
            strcmp(src, "source") == 0)
            continue;
        char rel[600];
        snprintf(rel, sizeof rel, "tests/data/knossos/%s", file);
        struct checker_check_options opt = {.format = FL_FORMAT_AUTO, .nil_read_any = -1};
        opt.limits.timeout_s = 30;
        struct checker_history h;
        struct checker_result res;
        const struct checker_model_ops *used;
        char errmsg[FL_ERRMSG_SIZE] = "";
        int rc = checker_check_file(test_source_path(rel), &opt, &h, &res, &used, errmsg);
        cr_expect_eq(rc, 0, "%s: %s", file, errmsg);
        enum checker_verdict want = strcmp(expected, "not") == 0 ? CHECKER_INVALID : CHECKER_VALID;
        cr_expect_eq(res.verdict, want, "%s: got %s, expected %s", file,
                     checker_verdict_name(res.verdict), checker_verdict_name(want));
        n++;
        ok += rc == 0 && res.verdict == want;
        checker_result_free(&res);
        checker_history_free(&h);
    }
    fclose(fp);
    cr_assert_eq(n, 122, "all 122 corpus files listed (saw %d)", n);
    cr_assert_eq(ok, 122);
}

/* ==== Property test: agreement with an exhaustive reference ==== */

struct ref {
    struct checker_model m;
    struct checker_op ops[16];
    int n;
};

/* Tries every order consistent with real time (an op may go only once every
 * op that returned before its invoke is placed); indeterminate ops are
 * optional. Exponential: for tiny histories only. */
static bool ref_search(struct ref *r, unsigned placed, uint64_t state)
{
    bool all = true;
    for (int i = 0; i < r->n; i++)
        if (!r->ops[i].crashed && !(placed & (1u << i)))
            all = false;
    if (all)
        return true;
    for (int i = 0; i < r->n; i++) {
        if (placed & (1u << i))
            continue;
        bool ready = true;
        for (int j = 0; j < r->n && ready; j++)
            if (j != i && !(placed & (1u << j)) && r->ops[j].ret < r->ops[i].call)
                ready = false;
        uint64_t next;
        if (ready && r->m.ops->step(&r->m, state, &r->ops[i], &next) &&
            ref_search(r, placed | (1u << i), next))
            return true;
    }
    return false;
}

static enum checker_verdict reference_verdict(const struct checker_history *h,
                                              const struct checker_model_ops *model,
                                              const struct checker_model_config *cfg)
{
    for (uint32_t key = 0; key < h->n_keys; key++) {
        struct ref r;
        char errmsg[FL_ERRMSG_SIZE];
        memset(&r, 0, sizeof r);
        cr_assert_eq(checker_model_create(&r.m, model, cfg, errmsg), 0);
        for (size_t i = 0; i < h->n_ops; i++) {
            const struct checker_hop *hop = &h->ops[i];
            if (hop->key_id != key || hop->status == FL_EVENT_FAIL)
                continue;
            struct checker_op *op = &r.ops[r.n];
            memset(op, 0, sizeof *op);
            op->crashed = hop->status == FL_EVENT_INFO;
            op->call = hop->call;
            op->ret = op->crashed ? CHECKER_POS_NEVER : hop->ret;
            int rc = model->prepare(&r.m, hop, op, errmsg);
            cr_assert(rc >= 0, "%s", errmsg);
            if (rc == CHECKER_PREPARE_DROP)
                continue;
            cr_assert(r.n < 15);
            r.n++;
        }
        bool ok = ref_search(&r, 0, model->init(&r.m));
        checker_model_destroy(&r.m);
        if (!ok)
            return CHECKER_INVALID;
    }
    return CHECKER_VALID;
}

static int env_int(const char *name, int dflt)
{
    const char *v = getenv(name);
    return v ? atoi(v) : dflt;
}

Test(checker_linear, agrees_with_exhaustive_search_on_random_histories)
{
    int cases = env_int("FL_PROPERTY_CASES", 3000);
    uint64_t only = (uint64_t)env_int("FL_SEED", 0);
    int disagreements = 0, invalid = 0;
    /* tmpfs when there is one: the writer fsyncs, which thousands of cases pay for. */
    char path[] = "/dev/shm/fltest-prop-XXXXXX";
    if (access("/dev/shm", W_OK) != 0)
        memcpy(path, "/tmp/fltest-prop-XXXXXX", sizeof "/tmp/fltest-prop-XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    for (int c = 1; c <= cases; c++) {
        uint64_t seed = only ? only : (uint64_t)c;
        struct fl_rng rng;
        fl_rng_seed(&rng, seed * 7919);
        struct checker_gen_config cfg;
        checker_gen_defaults(&cfg);
        cfg.seed = seed;
        cfg.n_ops = (size_t)fl_rng_range(&rng, 1, 9);
        cfg.processes = (int)fl_rng_range(&rng, 1, 5);
        cfg.keys = fl_rng_chance(&rng, 0.2) ? 2 : 1;
        cfg.values = (int)fl_rng_range(&rng, 1, 3);
        cfg.crash_rate = fl_rng_double(&rng) * 0.5;
        cfg.read_ratio = fl_rng_double(&rng) * 0.7;
        cfg.cas_ratio = fl_rng_double(&rng) * (1 - cfg.read_ratio);
        cfg.max_latency_ns = fl_rng_range(&rng, 1, 1000);
        cfg.max_think_ns = fl_rng_range(&rng, 0, 500);
        cfg.mutate = fl_rng_chance(&rng, 0.5);
        char errmsg[FL_ERRMSG_SIZE];
        cr_assert_eq(checker_gen_write(&cfg, path, errmsg), 0, "%s", errmsg);

        struct checker_check_options opt = {.format = FL_FORMAT_JSONL, .nil_read_any = -1};
        struct checker_history h;
        struct checker_result res;
        const struct checker_model_ops *used;
        cr_assert_eq(checker_check_file(path, &opt, &h, &res, &used, errmsg), 0, "%s", errmsg);
        struct checker_model_config mc = {.initial = NULL, .nil_read_any = false};
        enum checker_verdict want = reference_verdict(&h, used, &mc);
        if (res.verdict != want) {
            disagreements++;
            cr_log_error("FL_SEED=%llu: search says %s, reference says %s",
                         (unsigned long long)seed, checker_verdict_name(res.verdict),
                         checker_verdict_name(want));
        }
        invalid += want == CHECKER_INVALID;
        checker_result_free(&res);
        checker_history_free(&h);
        if (only)
            break;
    }
    unlink(path);
    cr_assert_eq(disagreements, 0, "%d disagreements in %d cases", disagreements, cases);
    if (!only)
        cr_assert(invalid > cases / 10, "the generator produced enough invalid cases (%d)",
                  invalid);
}

/* ==== The unique-value procedure against the search (issue 14) ==== */

/* Checks path with the given procedure; returns the verdict, *unique set
 * when the unique-value procedure decided every key. */
static enum checker_verdict check_with(const char *path, enum checker_procedure proc, bool *unique)
{
    struct checker_check_options opt = {.format = FL_FORMAT_JSONL, .nil_read_any = -1};
    opt.limits.procedure = proc;
    opt.limits.threads = 1;
    struct checker_history h;
    struct checker_result res;
    const struct checker_model_ops *used;
    char errmsg[FL_ERRMSG_SIZE] = "";
    cr_assert_eq(checker_check_file(path, &opt, &h, &res, &used, errmsg), 0, "%s", errmsg);
    enum checker_verdict v = res.verdict;
    if (unique)
        *unique = res.n_unique + res.n_unchecked == res.n_keys;
    checker_result_free(&res);
    checker_history_free(&h);
    return v;
}

/* 100,000 small random histories with unique values (reads of the initial
 * value, reads concurrent with their write, crashed writes and cas, failed
 * cas, mutated reads): the unique-value procedure must give the search's
 * verdict every time, and must be the one deciding. FL_UNIQUE_CASES,
 * FL_SEED as above. */
Test(checker_linear, unique_value_procedure_agrees_with_the_search, .timeout = 900)
{
    int cases = env_int("FL_UNIQUE_CASES", 100000);
    uint64_t only = (uint64_t)env_int("FL_SEED", 0);
    int disagreements = 0, invalid = 0, decided = 0;
    char path[] = "/dev/shm/fltest-uniq-XXXXXX";
    if (access("/dev/shm", W_OK) != 0)
        memcpy(path, "/tmp/fltest-uniq-XXXXXX", sizeof "/tmp/fltest-uniq-XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    for (int c = 1; c <= cases; c++) {
        uint64_t seed = only ? only : (uint64_t)c;
        struct fl_rng rng;
        fl_rng_seed(&rng, seed * 104729);
        struct checker_gen_config cfg;
        checker_gen_defaults(&cfg);
        cfg.seed = seed;
        cfg.values = 0;
        cfg.n_ops = (size_t)fl_rng_range(&rng, 1, 12);
        cfg.processes = (int)fl_rng_range(&rng, 1, 6);
        cfg.keys = fl_rng_chance(&rng, 0.15) ? 2 : 1;
        cfg.crash_rate = fl_rng_double(&rng) * 0.6;
        cfg.read_ratio = fl_rng_double(&rng) * 0.7;
        cfg.cas_ratio = fl_rng_double(&rng) * (1 - cfg.read_ratio);
        cfg.max_latency_ns = fl_rng_range(&rng, 1, 1000);
        cfg.max_think_ns = fl_rng_range(&rng, 0, 500);
        cfg.mutate = fl_rng_chance(&rng, 0.5);
        char errmsg[FL_ERRMSG_SIZE];
        cr_assert_eq(checker_gen_write(&cfg, path, errmsg), 0, "%s", errmsg);
        bool unique = false;
        enum checker_verdict fast = check_with(path, CHECKER_PROC_AUTO, &unique);
        enum checker_verdict slow = check_with(path, CHECKER_PROC_WGL, NULL);
        decided += unique;
        invalid += slow == CHECKER_INVALID;
        if (fast != slow) {
            disagreements++;
            cr_log_error("FL_SEED=%llu: unique-values says %s, the search says %s",
                         (unsigned long long)seed, checker_verdict_name(fast),
                         checker_verdict_name(slow));
        }
    }
    unlink(path);
    cr_log_info("%d cases, %d invalid, %d decided by the unique-value procedure", cases, invalid,
                decided);
    cr_assert_eq(disagreements, 0);
    cr_assert(only || invalid > cases / 10, "the mix has invalid cases (%d)", invalid);
    cr_assert(only || decided == cases, "every case qualified (%d of %d)", decided, cases);
}
