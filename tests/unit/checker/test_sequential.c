/* test_sequential.c - sequential consistency and session guarantees:
 * hand-made histories (monotonic reads, read-your-writes, cycles), and
 * randomized agreement with a brute-force reference that tries every order
 * keeping each process's order. */
#include "checker/check.h"
#include "checker/sequential.h"
#include "common/error.h"
#include "support/test_support.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct outcome {
    enum checker_verdict verdict;
    enum checker_seq_rule rule;
    char reason[512];
    char first_step[512];
    size_t n_steps;
};

static struct outcome check_path(const char *path, const char *model)
{
    struct checker_check_options opt = {
        .format = FL_FORMAT_AUTO, .nil_read_any = -1, .model = model};
    struct checker_history h;
    struct checker_seq_result res;
    const struct checker_model_ops *used;
    char errmsg[FL_ERRMSG_SIZE] = "";
    int rc = checker_check_file_seq(path, &opt, &h, &res, &used, errmsg);
    cr_assert_eq(rc, 0, "check failed: %s", errmsg);
    struct outcome o = {.verdict = res.verdict, .rule = res.rule, .n_steps = res.n_steps};
    snprintf(o.reason, sizeof o.reason, "%s", res.reason);
    if (res.n_steps)
        snprintf(o.first_step, sizeof o.first_step, "%s", res.steps[0].text);
    checker_seq_result_free(&res);
    checker_history_free(&h);
    return o;
}

static struct outcome check_text(const char *jsonl)
{
    return check_path(test_tmpfile(jsonl, ".jsonl"), NULL);
}

#define W(p, v)                                                                                    \
    "{\"process\":" #p ",\"type\":\"invoke\",\"f\":\"write\",\"value\":" #v "}\n"                  \
    "{\"process\":" #p ",\"type\":\"ok\",\"f\":\"write\",\"value\":" #v "}\n"
#define R(p, v)                                                                                    \
    "{\"process\":" #p ",\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n"                     \
    "{\"process\":" #p ",\"type\":\"ok\",\"f\":\"read\",\"value\":" #v "}\n"

Test(checker_sequential, stale_read_of_another_session_is_valid)
{
    /* Linearizability would call this invalid (the read began after 2 was
     * acknowledged); a sequential read may lag. */
    struct outcome o = check_text(W(0, 1) W(0, 2) R(1, 1) R(1, 2));
    cr_assert_eq(o.verdict, CHECKER_VALID, "%s", o.reason);
}

Test(checker_sequential, reading_backwards_breaks_monotonic_reads)
{
    struct outcome o = check_text(W(0, 1) W(0, 2) R(1, 2) R(1, 1));
    cr_assert_eq(o.verdict, CHECKER_INVALID);
    cr_assert_eq(o.rule, CHECKER_SEQ_MONOTONIC_READS);
    cr_assert(strstr(o.reason, "process 1 read 1") && strstr(o.reason, "after reading 2") &&
                  strstr(o.reason, "2 was written after 1"),
              "%s", o.reason);
    cr_assert_geq(o.n_steps, 3);
}

Test(checker_sequential, monotonic_reads_holds_when_the_order_is_unknown)
{
    /* 1 and 2 come from different processes with nothing ordering them: a
     * session reading 2 then 1 says 2 came first; another reading 1 then 2
     * would contradict it, but one session alone does not. */
    cr_assert_eq(check_text(W(0, 1) W(2, 2) R(1, 2) R(1, 1)).verdict, CHECKER_VALID);
    struct outcome o = check_text(W(0, 1) W(2, 2) R(1, 2) R(1, 1) R(3, 1) R(3, 2));
    cr_assert_eq(o.verdict, CHECKER_INVALID);
    cr_assert_eq(o.rule, CHECKER_SEQ_ORDER, "%s", o.reason);
}

Test(checker_sequential, reading_older_than_own_write_breaks_read_your_writes)
{
    struct outcome o = check_text(W(0, 1) R(1, 1) W(1, 3) R(1, 1));
    cr_assert_eq(o.verdict, CHECKER_INVALID);
    cr_assert_eq(o.rule, CHECKER_SEQ_READ_YOUR_WRITES);
    cr_assert(strstr(o.reason, "after writing 3 itself"), "%s", o.reason);

    o = check_text(W(0, 1) R(0, null));
    cr_assert_eq(o.verdict, CHECKER_INVALID);
    cr_assert_eq(o.rule, CHECKER_SEQ_READ_YOUR_WRITES);
    cr_assert(strstr(o.reason, "initial value"), "%s", o.reason);
}

Test(checker_sequential, own_write_then_own_read_is_valid)
{
    cr_assert_eq(check_text(W(0, 1) W(1, 2) R(1, 2) R(0, 1) R(0, 2)).verdict, CHECKER_VALID);
}

Test(checker_sequential, crossed_reads_have_no_order)
{
    /* p0 writes 1 then reads 2; p1 writes 2 then reads 1: 1 before 2 and 2
     * before 1. Every session alone is fine; the history is not. */
    struct outcome o = check_text(W(0, 1) W(1, 2) R(0, 2) R(1, 1));
    cr_assert_eq(o.verdict, CHECKER_INVALID);
    cr_assert_eq(o.rule, CHECKER_SEQ_ORDER);
    cr_assert(strstr(o.first_step, "must come before"), "%s", o.first_step);
}

Test(checker_sequential, value_never_written_is_invalid)
{
    struct outcome o = check_text(W(0, 1) R(1, 7));
    cr_assert_eq(o.verdict, CHECKER_INVALID);
    cr_assert_eq(o.rule, CHECKER_SEQ_NEVER_WRITTEN);
}

Test(checker_sequential, keys_share_the_process_order)
{
    /* Sequential consistency is not compositional: per key each is fine,
     * together p0 sees x=1 before y=1 was written ... and p1 the reverse. */
    const char *h =
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"put\",\"key\":\"x\",\"value\":1}\n"
        "{\"process\":0,\"type\":\"ok\",\"f\":\"put\",\"key\":\"x\",\"value\":1}\n"
        "{\"process\":1,\"type\":\"invoke\",\"f\":\"put\",\"key\":\"y\",\"value\":1}\n"
        "{\"process\":1,\"type\":\"ok\",\"f\":\"put\",\"key\":\"y\",\"value\":1}\n"
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"get\",\"key\":\"y\",\"value\":null}\n"
        "{\"process\":0,\"type\":\"ok\",\"f\":\"get\",\"key\":\"y\",\"value\":null}\n"
        "{\"process\":1,\"type\":\"invoke\",\"f\":\"get\",\"key\":\"x\",\"value\":null}\n"
        "{\"process\":1,\"type\":\"ok\",\"f\":\"get\",\"key\":\"x\",\"value\":null}\n";
    struct outcome o = check_path(test_tmpfile(h, ".jsonl"), "kv");
    cr_assert_eq(o.verdict, CHECKER_INVALID, "Dekker: both read the initial values");
}

Test(checker_sequential, unread_indeterminate_write_may_never_happen)
{
    const char *h =
        W(0, 1) "{\"process\":1,\"type\":\"invoke\",\"f\":\"write\",\"value\":2}\n"
                "{\"process\":1,\"type\":\"info\",\"f\":\"write\",\"value\":2}\n" R(0, 1) R(2, 2)
                    R(2, 1);
    /* p2 reads 2 then 1: the info write happened, before 1 (p2 saw 2 then 1).
     * p0 wrote 1 and read 1: valid with order w2 r2 w1 r1 r1. */
    cr_assert_eq(check_text(h).verdict, CHECKER_VALID);
}

Test(checker_sequential, other_models_are_refused)
{
    struct checker_check_options opt = {
        .format = FL_FORMAT_AUTO, .nil_read_any = -1, .model = "set"};
    struct checker_history h;
    struct checker_seq_result res;
    const struct checker_model_ops *used;
    char errmsg[FL_ERRMSG_SIZE] = "";
    const char *path =
        test_tmpfile("{\"process\":0,\"type\":\"invoke\",\"f\":\"add\",\"value\":1}\n"
                     "{\"process\":0,\"type\":\"ok\",\"f\":\"add\",\"value\":1}\n",
                     ".jsonl");
    int rc = checker_check_file_seq(path, &opt, &h, &res, &used, errmsg);
    cr_assert_eq(rc, FL_EUNSUPPORTED);
    cr_assert(strstr(errmsg, "register and kv"), "%s", errmsg);
    checker_history_free(&h);
}

/* ==== Randomized agreement with brute force ==== */

enum { MAXP = 3, MAXL = 4 };

struct rop {
    int f;    /* 0 read, 1 write, 2 cas */
    int type; /* 0 ok, 1 fail, 2 info */
    int key;
    int v, w; /* read value / written value; cas v -> w; 0 is nil */
};

struct rhist {
    int P, len[MAXP];
    struct rop ops[MAXP][MAXL];
};

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static bool brute(const struct rhist *r, int *pos, int *val)
{
    bool all = true;
    for (int p = 0; p < r->P; p++) {
        if (pos[p] == r->len[p])
            continue;
        all = false;
        const struct rop *o = &r->ops[p][pos[p]];
        int old = val[o->key];
        pos[p]++;
        bool legal = o->f == 0 ? old == o->v : o->f == 1 ? true : old == o->v;
        if (o->type == 1 || (o->type == 2 && o->f == 0)) {
            /* failed, or an indeterminate read: no effect */
            if (brute(r, pos, val))
                return pos[p]--, true;
        } else {
            if (legal) {
                if (o->f != 0)
                    val[o->key] = o->w;
                bool ok = brute(r, pos, val);
                val[o->key] = old;
                if (ok)
                    return pos[p]--, true;
            }
            if (o->type == 2 && brute(r, pos, val)) /* indeterminate: or never */
                return pos[p]--, true;
        }
        pos[p]--;
    }
    return all;
}

static void put_value(FILE *f, int v)
{
    if (v)
        fprintf(f, "%d", v);
    else
        fputs("null", f);
}

static void write_history(const struct rhist *r, const char *path, bool kv)
{
    FILE *f = fopen(path, "w");
    cr_assert(f);
    int pos[MAXP] = {0}, left = 0;
    for (int p = 0; p < r->P; p++)
        left += r->len[p];
    static const char *const names[2][3] = {{"read", "write", "cas"}, {"get", "put", "cas"}};
    static const char *const types[] = {"ok", "fail", "info"};
    while (left) {
        int p = (int)rnd((uint32_t)r->P);
        if (pos[p] == r->len[p])
            continue;
        const struct rop *o = &r->ops[p][pos[p]++];
        left--;
        for (int e = 0; e < 2; e++) {
            fprintf(f, "{\"process\":%d,\"type\":\"%s\",\"f\":\"%s\",", p,
                    e ? types[o->type] : "invoke", names[kv][o->f]);
            if (kv)
                fprintf(f, "\"key\":\"k%d\",", o->key);
            fputs("\"value\":", f);
            if (o->f == 2) {
                fputc('[', f);
                put_value(f, o->v);
                fputc(',', f);
                put_value(f, o->w);
                fputc(']', f);
            } else if (o->f == 1) {
                put_value(f, o->w);
            } else {
                put_value(f, e && o->type == 0 ? o->v : 0);
            }
            fputs("}\n", f);
        }
    }
    fclose(f);
}

static void random_history(struct rhist *r, bool unique, bool kv)
{
    memset(r, 0, sizeof *r);
    r->P = 1 + (int)rnd(MAXP);
    int next = 1, nkeys = kv ? 2 : 1;
    for (int p = 0; p < r->P; p++) {
        r->len[p] = 1 + (int)rnd(MAXL);
        for (int i = 0; i < r->len[p]; i++) {
            struct rop *o = &r->ops[p][i];
            o->f = rnd(10) < 5 ? 0 : rnd(4) ? 1 : 2;
            o->key = (int)rnd((uint32_t)nkeys);
            o->w = unique ? next++ : 1 + (int)rnd(2);
            o->type = rnd(10) < 8 ? 0 : rnd(2) ? 1 : 2;
            if (o->type == 2) { /* a process ends at its indeterminate op */
                r->len[p] = i + 1;
                break;
            }
        }
    }
    /* Reads and cas expectations: a value written somewhere, nil, or rarely
     * something never written. */
    for (int p = 0; p < r->P; p++)
        for (int i = 0; i < r->len[p]; i++) {
            struct rop *o = &r->ops[p][i];
            if (o->f == 1)
                continue;
            int q = (int)rnd((uint32_t)r->P), j = (int)rnd((uint32_t)r->len[q]);
            const struct rop *x = &r->ops[q][j];
            o->v = rnd(5) == 0 ? 0 : rnd(30) == 0 ? 99 : x->f ? x->w : x->v;
        }
}

Test(checker_sequential, agrees_with_brute_force_on_random_histories, .timeout = 600)
{
    int cases = 10000;
    const char *env = getenv("FL_SEQ_CASES");
    if (env)
        cases = atoi(env);
    char path[] = "/tmp/fl-seq-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    int disagree = 0, invalid = 0;
    rng_state = 0x9e3779b97f4a7c15ULL;
    for (int c = 0; c < cases; c++) {
        bool unique = c % 2 == 0, kv = c % 3 == 0;
        struct rhist r;
        random_history(&r, unique, kv);
        write_history(&r, path, kv);
        int pos[MAXP] = {0}, val[2] = {0, 0};
        enum checker_verdict want = brute(&r, pos, val) ? CHECKER_VALID : CHECKER_INVALID;
        struct outcome o = check_path(path, kv ? "kv" : "register");
        invalid += want == CHECKER_INVALID;
        if (o.verdict != want) {
            char cmd[256];
            snprintf(cmd, sizeof cmd, "cat %s >&2", path);
            if (disagree < 3) {
                fprintf(stderr, "case %d: checker %s (%s), brute force %s\n", c,
                        checker_verdict_name(o.verdict), o.reason, checker_verdict_name(want));
                (void)system(cmd);
            }
            disagree++;
        }
    }
    unlink(path);
    cr_log_info("%d cases, %d invalid, %d disagreements", cases, invalid, disagree);
    cr_assert_eq(disagree, 0, "%d of %d cases disagree", disagree, cases);
    cr_assert_gt(invalid, cases / 20, "the generator makes invalid histories too (%d)", invalid);
    cr_assert_lt(invalid, cases - cases / 20, "and valid ones (%d)", invalid);
}
