/* test_check.c - checker_check_file end to end: format defaults, model
 * detection, and verdicts that survive a conversion between JSONL and EDN
 * (what `faultline check --export-edn` relies on). */
#include "checker/check.h"
#include "checker/gen.h"
#include "common/error.h"
#include "common/history.h"
#include "common/mem.h"
#include "common/rng.h"
#include "support/test_support.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* A fresh temporary path (tmpfs when there is one); caller unlinks. */
static void tmp_path(char *buf, size_t size, const char *tag)
{
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(buf, size, "%s/fltest-%s-XXXXXX", dir, tag);
    int fd = mkstemp(buf);
    cr_assert(fd >= 0);
    close(fd);
}

/* Copies every event of `in` to `out` in `format`, as --export-edn does. */
static void convert(const char *in, const char *out, enum fl_history_format format)
{
    char errmsg[FL_ERRMSG_SIZE] = "";
    struct fl_history_reader r;
    struct fl_history_writer w;
    struct fl_event ev;
    cr_assert_eq(fl_history_reader_open(&r, in, FL_FORMAT_AUTO, errmsg), 0, "%s", errmsg);
    cr_assert_eq(fl_history_writer_open(&w, out, format, errmsg), 0, "%s", errmsg);
    fl_event_init(&ev);
    int rc;
    while ((rc = fl_history_reader_next(&r, &ev, errmsg)) == 1)
        cr_assert_eq(fl_history_writer_write(&w, &ev, errmsg), 0, "%s", errmsg);
    cr_assert_eq(rc, 0, "%s: %s", in, errmsg);
    fl_event_clear(&ev);
    fl_history_reader_close(&r);
    cr_assert_eq(fl_history_writer_close(&w, errmsg), 0, "%s", errmsg);
}

struct outcome {
    enum checker_verdict verdict;
    size_t n_ops, n_keys, n_crashed;
    const char *model;
};

static struct outcome check(const char *path, const struct checker_check_options *opt)
{
    struct checker_history h;
    struct checker_result res;
    const struct checker_model_ops *used = NULL;
    char errmsg[FL_ERRMSG_SIZE] = "";
    int rc = checker_check_file(path, opt, &h, &res, &used, errmsg);
    cr_assert_eq(rc, 0, "%s", errmsg);
    struct outcome o = {res.verdict, res.n_ops, res.n_keys, res.n_crashed, used->name};
    checker_result_free(&res);
    checker_history_free(&h);
    return o;
}

static void assert_same(struct outcome a, struct outcome b, const char *what)
{
    cr_assert_eq(a.verdict, b.verdict, "%s: verdict %s became %s", what,
                 checker_verdict_name(a.verdict), checker_verdict_name(b.verdict));
    cr_assert_eq(a.n_ops, b.n_ops, "%s: ops %zu became %zu", what, a.n_ops, b.n_ops);
    cr_assert_eq(a.n_keys, b.n_keys, "%s", what);
    cr_assert_eq(a.n_crashed, b.n_crashed, "%s", what);
    cr_assert_str_eq(a.model, b.model, "%s", what);
}

/* ==== Round trips ==== */

/* Generated JSONL histories (valid and mutated, one and several keys) keep
 * their verdict once exported to EDN, when both are checked with the same
 * conventions (JSONL's: initial nil, nil read means absent). */
Test(checker_check, jsonl_to_edn_keeps_the_verdict)
{
    char jsonl[64], edn[64];
    tmp_path(jsonl, sizeof jsonl, "rt-jsonl");
    tmp_path(edn, sizeof edn, "rt-edn");
    json_t *nil = json_null();
    struct checker_check_options opt = {
        .format = FL_FORMAT_AUTO, .initial = nil, .nil_read_any = 0};
    opt.limits.timeout_s = 60;
    int invalid = 0, cases = 300;
    for (int c = 1; c <= cases; c++) {
        struct fl_rng rng;
        fl_rng_seed(&rng, (uint64_t)c * 104729);
        struct checker_gen_config cfg;
        checker_gen_defaults(&cfg);
        cfg.seed = (uint64_t)c;
        cfg.n_ops = (size_t)fl_rng_range(&rng, 1, 200);
        cfg.processes = (int)fl_rng_range(&rng, 1, 8);
        cfg.keys = fl_rng_chance(&rng, 0.3) ? 3 : 1;
        cfg.crash_rate = fl_rng_double(&rng) * 0.1;
        cfg.mutate = fl_rng_chance(&rng, 0.5);
        char errmsg[FL_ERRMSG_SIZE];
        cr_assert_eq(checker_gen_write(&cfg, jsonl, errmsg), 0, "%s", errmsg);
        convert(jsonl, edn, FL_FORMAT_EDN);
        struct outcome a = check(jsonl, &opt), b = check(edn, &opt);
        char what[64];
        snprintf(what, sizeof what, "case %d", c);
        assert_same(a, b, what);
        invalid += a.verdict == CHECKER_INVALID;
    }
    cr_assert(invalid > 0 && invalid < cases, "both verdicts covered (%d invalid)", invalid);
    unlink(jsonl);
    unlink(edn);
}

/* Every Knossos corpus file keeps its verdict through EDN -> JSONL -> EDN,
 * checked with Knossos's conventions (initial 0, for every register of a
 * multi-register too; nil read matches any). */
Test(checker_check, knossos_corpus_through_jsonl_and_back)
{
    char jsonl[64], edn[64];
    tmp_path(jsonl, sizeof jsonl, "kn-jsonl");
    tmp_path(edn, sizeof edn, "kn-edn");
    json_t *zero = json_integer(0);
    struct checker_check_options opt = {
        .format = FL_FORMAT_AUTO, .initial = zero, .nil_read_any = 1};
    opt.limits.timeout_s = 60;
    FILE *fp = fopen(test_source_path("tests/data/knossos/EXPECTED.tsv"), "r");
    cr_assert(fp);
    char line[8192];
    int n = 0;
    while (fgets(line, sizeof line, fp)) {
        char src[64], file[512];
        if (sscanf(line, "%63[^\t]\t%511[^\t]", src, file) != 2 || strcmp(src, "source") == 0)
            continue;
        char rel[600];
        snprintf(rel, sizeof rel, "tests/data/knossos/%s", file);
        const char *orig = test_source_path(rel);
        convert(orig, jsonl, FL_FORMAT_JSONL);
        convert(jsonl, edn, FL_FORMAT_EDN);
        struct outcome a = check(orig, &opt);
        assert_same(a, check(jsonl, &opt), file);
        assert_same(a, check(edn, &opt), file);
        n++;
    }
    fclose(fp);
    json_decref(zero);
    cr_assert_eq(n, 122);
    unlink(jsonl);
    unlink(edn);
}

/* The EDN cases of the checker's corpus (tests/data/checker 0230-0246:
 * keywords, symbols, chars, sets, map keys, floats, #inst, #uuid) keep their
 * verdict exported to JSONL and exported back to EDN: the JSONL writer keeps
 * tagged values tagged ("\u0000:a"), where it wrote their EDN text and made
 * :a and ":a" one value (0230's history became valid). Checked with the EDN
 * conventions on every side. */
Test(checker_check, edn_cases_through_jsonl_keep_the_verdict)
{
    static const char *cases[] = {
        "0230-edn-keyword-is-not-a-string.edn", "0231-edn-char-is-not-a-string.edn",
        "0232-edn-set-is-not-a-vector.edn",     "0233-edn-map-keys-keep-their-kind.edn",
        "0234-edn-keywords-valid.edn",          "0235-edn-set-read.edn",
        "0239-edn-ok-read-without-value.edn",   "0244-edn-integer-is-not-float.edn",
        "0245-edn-inst-one-instant.edn",        "0246-edn-uuid-case.edn",
        "0247-edn-keyword-and-its-text.edn",
    };
    char jsonl[64], edn[64];
    tmp_path(jsonl, sizeof jsonl, "cases-jsonl");
    tmp_path(edn, sizeof edn, "cases-edn");
    json_t *zero = json_integer(0);
    struct checker_check_options opt = {
        .format = FL_FORMAT_AUTO, .initial = zero, .nil_read_any = 1};
    opt.limits.timeout_s = 60;
    int invalid = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "tests/data/checker/%s", cases[i]);
        const char *orig = test_source_path(rel);
        convert(orig, jsonl, FL_FORMAT_JSONL);
        convert(jsonl, edn, FL_FORMAT_EDN);
        struct outcome a = check(orig, &opt);
        assert_same(a, check(jsonl, &opt), cases[i]);
        assert_same(a, check(edn, &opt), cases[i]);
        invalid += a.verdict == CHECKER_INVALID;
    }
    cr_assert(invalid >= 5 && invalid < 11, "both verdicts covered (%d invalid)", invalid);
    json_decref(zero);
    unlink(jsonl);
    unlink(edn);
}

/* The JSONL cases of numbers (0240-0242) keep their verdict exported to EDN
 * and back: 1.0 read from JSONL is 1, a big integer stays its digits. */
Test(checker_check, jsonl_number_cases_through_edn_keep_the_verdict)
{
    static const char *cases[] = {
        "0237-ok-read-without-value.jsonl", "0240-jsonl-integer-equals-float.jsonl",
        "0241-jsonl-big-integers-exact.jsonl", "0242-jsonl-big-integers-differ.jsonl",
    };
    char jsonl[64], edn[64];
    tmp_path(jsonl, sizeof jsonl, "ncases-jsonl");
    tmp_path(edn, sizeof edn, "ncases-edn");
    json_t *nil = json_null();
    struct checker_check_options opt = {
        .format = FL_FORMAT_AUTO, .initial = nil, .nil_read_any = 0};
    opt.limits.timeout_s = 60;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "tests/data/checker/%s", cases[i]);
        const char *orig = test_source_path(rel);
        convert(orig, edn, FL_FORMAT_EDN);
        convert(edn, jsonl, FL_FORMAT_JSONL);
        struct outcome a = check(orig, &opt);
        assert_same(a, check(edn, &opt), cases[i]);
        assert_same(a, check(jsonl, &opt), cases[i]);
    }
    unlink(jsonl);
    unlink(edn);
}

/* ==== Defaults and detection ==== */

Test(checker_check, format_defaults)
{
    bool zero, any;
    checker_check_defaults(FL_FORMAT_EDN, &zero, &any);
    cr_assert(zero && any, "EDN follows Knossos");
    checker_check_defaults(FL_FORMAT_JSONL, &zero, &any);
    cr_assert(!zero && !any, "JSONL: nil start, nil read is absent");
    checker_check_defaults(FL_FORMAT_JEPSEN_LOG, &zero, &any);
    cr_assert(!zero && !any, "Jepsen logs (etcd): nil start");
}

/* Porcupine's kv logs are EDN with get/put/append, and every key starts as
 * "": an append to a fresh key and a get of "" are legal by default. */
Test(checker_check, edn_kv_keys_start_empty_as_in_porcupine)
{
    struct checker_check_options opt = {.format = FL_FORMAT_AUTO, .nil_read_any = -1};
    const char *path =
        test_tmpfile("{:process 2, :type :invoke, :f :append, :key \"7\", :value \"z\"}\n"
                     "{:process 2, :type :ok, :f :append, :key \"7\", :value \"z\"}\n"
                     "{:process 1, :type :invoke, :f :get, :key \"7\", :value nil}\n"
                     "{:process 1, :type :ok, :f :get, :key \"7\", :value \"z\"}\n"
                     "{:process 1, :type :invoke, :f :get, :key \"8\", :value nil}\n"
                     "{:process 1, :type :ok, :f :get, :key \"8\", :value \"\"}\n",
                     ".edn");
    struct outcome o = check(path, &opt);
    cr_assert_str_eq(o.model, "kv");
    cr_assert_eq(o.verdict, CHECKER_VALID, "got %s", checker_verdict_name(o.verdict));
    cr_assert_eq(o.n_keys, 2);
}

Test(checker_check, model_is_detected_from_f)
{
    static const struct {
        const char *text, *model;
    } cases[] = {
        {"{\"process\":0,\"type\":\"invoke\",\"f\":\"cas\",\"value\":[1,2]}\n", "register"},
        {"{\"process\":0,\"type\":\"invoke\",\"f\":\"put\",\"key\":\"a\",\"value\":1}\n", "kv"},
        {"{\"process\":0,\"type\":\"invoke\",\"f\":\"acquire\"}\n", "mutex"},
        {"{\"process\":0,\"type\":\"invoke\",\"f\":\"enqueue\",\"value\":1}\n", "queue"},
        {"{\"process\":0,\"type\":\"invoke\",\"f\":\"add\",\"value\":1}\n"
         "{\"process\":0,\"type\":\"ok\",\"f\":\"add\",\"value\":1}\n"
         "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n"
         "{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":[1]}\n",
         "set"},
        {"{\"process\":0,\"type\":\"invoke\",\"f\":\"add\",\"value\":1}\n"
         "{\"process\":0,\"type\":\"ok\",\"f\":\"add\",\"value\":1}\n"
         "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n"
         "{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":1}\n",
         "counter"},
        {"{\"process\":0,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"r\",\"x\",null]]}\n",
         "multi-register"},
    };
    struct checker_check_options opt = {.format = FL_FORMAT_AUTO, .nil_read_any = -1};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct outcome o = check(test_tmpfile(cases[i].text, ".jsonl"), &opt);
        cr_assert_str_eq(o.model, cases[i].model, "case %zu", i);
    }
}

Test(checker_check, unknown_model_is_an_error_naming_the_option)
{
    struct checker_check_options opt = {
        .format = FL_FORMAT_AUTO, .nil_read_any = -1, .model = "bogus"};
    struct checker_history h;
    struct checker_result res;
    const struct checker_model_ops *used = NULL;
    char errmsg[FL_ERRMSG_SIZE] = "";
    const char *path =
        test_tmpfile("{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n", ".jsonl");
    cr_assert_lt(checker_check_file(path, &opt, &h, &res, &used, errmsg), 0);
    cr_assert(strstr(errmsg, "bogus"), "%s", errmsg);
    checker_result_free(&res);
    checker_history_free(&h);
}

/* ==== --max-memory bounds the whole process (issue 14 item 3) ==== */

/* Checks `path` in a child with the process bounded to its resident memory
 * now plus `room` bytes; the child exits 0 when the verdict is `want` and
 * its peak resident memory stayed within the bound, 10 + verdict
 * otherwise, 20 on a peak over. */
static int check_bounded(const char *path, size_t room, enum checker_verdict want)
{
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        struct checker_check_options opt = {.format = FL_FORMAT_AUTO, .nil_read_any = -1};
        size_t base = fl_mem_rss();
        opt.max_rss = base + room;
        opt.limits.threads = 1;
        struct checker_history h;
        struct checker_result res;
        const struct checker_model_ops *used;
        char errmsg[FL_ERRMSG_SIZE] = "";
        int rc = checker_check_file(path, &opt, &h, &res, &used, errmsg);
        int code = 0;
        if (rc < 0)
            code = 9;
        else if (res.verdict != want)
            code = 10 + (int)res.verdict;
        else if (want == CHECKER_UNKNOWN &&
                 (!h.truncated || !strstr(res.reason, "needs more memory than --max-memory")))
            code = 30;
        /* Refused while reading: no procedure ran, and the result says so
         * (it said procedure=wgl). Decided: no refusal. */
        char proc[96];
        checker_result_procedure(&res, proc, sizeof proc);
        if (code == 0 && want == CHECKER_UNKNOWN &&
            (!res.refused || strcmp(res.refused, "while reading") != 0 ||
             strcmp(proc, "none") != 0))
            code = 31;
        if (code == 0 && want != CHECKER_UNKNOWN && (res.refused || strcmp(proc, "none") == 0))
            code = 32;
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        if (code == 0 && (size_t)ru.ru_maxrss * 1024 > opt.max_rss)
            code = 20;
        if (code)
            fprintf(stderr, "check_bounded(%s): rc %d verdict %s reason \"%s\" peak %ld KiB "
                            "bound %zu KiB\n",
                    path, rc, checker_verdict_name(res.verdict), res.reason, ru.ru_maxrss,
                    opt.max_rss >> 10);
        _exit(code);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status), "the check was killed (signal %d), not bounded",
              WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return WEXITSTATUS(status);
}

/* Refused with the resident size under the bound (the reader keeps room for
 * the events between two looks): the message states the sum that went over,
 * not only a resident size that reads as within the bound. */
Test(checker_check, refusal_while_reading_states_the_figures_over_the_bound)
{
    const char *path = test_tmpfile("{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n"
                                    "{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":1}\n",
                                    ".jsonl");
    char errmsg[FL_ERRMSG_SIZE] = "";
    struct checker_history h;
    size_t rss = fl_mem_rss();
    cr_assert_gt(rss, 0);
    size_t bound = rss + ((size_t)2 << 20);
    cr_assert_eq(checker_history_load_capped(&h, path, FL_FORMAT_AUTO, bound, errmsg),
                 FL_EBUDGET, "%s", errmsg);
    cr_assert(h.truncated);
    unsigned long bound_mib;
    double resident, total;
    const char *p = strstr(errmsg, "--max-memory ");
    cr_assert(p, "%s", errmsg);
    cr_assert_eq(sscanf(p, "--max-memory %lu MiB (%lf MiB resident", &bound_mib, &resident), 2,
                 "%s", errmsg);
    const char *q = strrchr(errmsg, ':');
    cr_assert(q && sscanf(q, ": %lf MiB)", &total) == 1, "no figure over the bound: %s", errmsg);
    cr_assert_eq(bound_mib, bound >> 20);
    cr_assert_gt(total, (double)bound / (1 << 20), "%s", errmsg);
    cr_assert_geq(total, resident, "%s", errmsg);
    checker_history_free(&h);
}

/* A room the history (~11 MB resident once read) does not fit in. Under ASan
 * every allocation carries redzones and shadow: opening the EDN reader (its
 * 2 MiB window) alone grew the child by ~4 MiB, past a 3 MiB room, so the peak
 * went over the bound before the first look; the sanitized build gives the
 * reader room to open and still asserts the peak within the bound. */
#if defined(__SANITIZE_ADDRESS__)
#define ROOM_TOO_SMALL ((size_t)16 << 20)
#else
#define ROOM_TOO_SMALL ((size_t)3 << 20)
#endif

/* A history larger than the bound is `unknown` with the reason, in every
 * format, and the process stays within the bound instead of being killed;
 * with room enough the same history is decided. */
Test(checker_check, history_over_max_memory_is_unknown_not_killed, .timeout = 300)
{
    struct checker_gen_config cfg;
    checker_gen_defaults(&cfg);
    cfg.n_ops = 60000; /* ~11 MB of JSONL, ~11 MB resident once read */
    cfg.processes = 16;
    cfg.crash_rate = 0.05;
    cfg.seed = 14;
    char jsonl[64], edn[64], errmsg[FL_ERRMSG_SIZE];
    tmp_path(jsonl, sizeof jsonl, "bigj");
    tmp_path(edn, sizeof edn, "bige");
    cr_assert_eq(checker_gen_write(&cfg, jsonl, errmsg), 0, "%s", errmsg);
    convert(jsonl, edn, FL_FORMAT_EDN);
    const char *paths[] = {jsonl, edn};
    for (int i = 0; i < 2; i++) {
        cr_expect_eq(check_bounded(paths[i], ROOM_TOO_SMALL, CHECKER_UNKNOWN), 0, "%s",
                     paths[i]);
        cr_expect_eq(check_bounded(paths[i], (size_t)400 << 20, CHECKER_VALID), 0, "%s",
                     paths[i]);
    }
    unlink(jsonl);
    unlink(edn);
}
