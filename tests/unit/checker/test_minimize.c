/* test_minimize.c - --minimize: delta debugging over the operations of an
 * invalid history, on hand-built histories whose minimal sets are known. */
#include "checker/check.h"
#include "checker/minimize.h"
#include "common/error.h"
#include "support/test_support.h"

#include <criterion/criterion.h>
#include <string.h>

struct mini_run {
    struct checker_history h;
    struct checker_result res;
    struct checker_minimized m;
    const struct checker_model_ops *model;
};

/* Checks the EDN `text` (it must be invalid) and minimizes it without a
 * budget, so the search ends 1-minimal. */
static void run(struct mini_run *r, const char *text)
{
    const char *path = test_tmpfile(text, ".edn");
    char errmsg[FL_ERRMSG_SIZE] = "";
    struct checker_check_options opt = {.format = FL_FORMAT_AUTO, .nil_read_any = -1};
    memset(r, 0, sizeof *r);
    cr_assert_eq(checker_check_file(path, &opt, &r->h, &r->res, &r->model, errmsg), 0, "%s",
                 errmsg);
    cr_assert_eq(r->res.verdict, CHECKER_INVALID);
    cr_assert_eq(checker_check_minimize(&r->h, r->model, &opt, &r->res, &r->m, errmsg), 0, "%s",
                 errmsg);
    cr_assert(r->m.complete, "no budget: the search ends");
}

static void done(struct mini_run *r)
{
    checker_minimized_free(&r->m);
    checker_result_free(&r->res);
    checker_history_free(&r->h);
}

/* True when the minimized set holds the operation invoked on EDN line `line`. */
static bool kept(const struct mini_run *r, uint64_t line)
{
    for (size_t i = 0; i < r->m.n_ops; i++)
        if (r->h.ops[r->m.ops[i]].call_line == line)
            return true;
    return false;
}

/* The classic stale read among noise: write 1, then write 2 completes, then
 * a read returns 1; 2-3 operations prove it. */
Test(checker_minimize, stale_read_is_three_operations)
{
    const char *text = "{:process 0, :type :invoke, :f :write, :value 1}\n"  /* 1 */
                       "{:process 0, :type :ok, :f :write, :value 1}\n"
                       "{:process 1, :type :invoke, :f :read, :value nil}\n" /* 3 */
                       "{:process 1, :type :ok, :f :read, :value 1}\n"
                       "{:process 0, :type :invoke, :f :write, :value 2}\n" /* 5 */
                       "{:process 0, :type :ok, :f :write, :value 2}\n"
                       "{:process 2, :type :invoke, :f :read, :value nil}\n" /* 7 */
                       "{:process 2, :type :ok, :f :read, :value 2}\n"
                       "{:process 3, :type :invoke, :f :read, :value nil}\n" /* 9 */
                       "{:process 3, :type :ok, :f :read, :value 2}\n"
                       "{:process 1, :type :invoke, :f :read, :value nil}\n" /* 11 */
                       "{:process 1, :type :ok, :f :read, :value 1}\n"
                       "{:process 2, :type :invoke, :f :read, :value nil}\n" /* 13 */
                       "{:process 2, :type :ok, :f :read, :value 2}\n";
    struct mini_run r;
    run(&r, text);
    cr_assert_eq(r.m.n_start, 7);
    cr_assert(r.m.n_ops >= 2 && r.m.n_ops <= 3, "%zu operations", r.m.n_ops);
    cr_assert(kept(&r, 11), "the stale read (line 11) is the anomaly");
    /* and what shows 2 came first: the write of 2, or a read of 2 before
     * it (the writes left out may have happened, but only once each) */
    cr_assert(kept(&r, 5) || kept(&r, 7) || kept(&r, 9), "what shows 2 came before it");
    done(&r);
}

/* A read of a value nobody wrote is invalid alone: one operation. Operations
 * left out stay as may-have-happened, so with a write of 3 merely left out
 * a read of 3 is never blamed. */
Test(checker_minimize, unwritten_value_is_one_operation)
{
    const char *text = "{:process 0, :type :invoke, :f :write, :value 3}\n"
                       "{:process 0, :type :ok, :f :write, :value 3}\n"
                       "{:process 1, :type :invoke, :f :read, :value nil}\n"
                       "{:process 1, :type :ok, :f :read, :value 3}\n"
                       "{:process 2, :type :invoke, :f :read, :value nil}\n" /* 5 */
                       "{:process 2, :type :ok, :f :read, :value 9}\n";
    struct mini_run r;
    run(&r, text);
    cr_assert_eq(r.m.n_ops, 1);
    cr_assert(kept(&r, 5));
    done(&r);
}

/* Keys: only the invalid key's operations are searched. A lost append on key
 * "b" (two appends complete, a later get sees one) beside a valid key "a". */
Test(checker_minimize, only_the_invalid_key)
{
    const char *text =
        "{:process 0, :type :invoke, :f :append, :key \"a\", :value \"x\"}\n"
        "{:process 0, :type :ok, :f :append, :key \"a\", :value \"x\"}\n"
        "{:process 1, :type :invoke, :f :append, :key \"b\", :value \"p\"}\n" /* 3 */
        "{:process 1, :type :ok, :f :append, :key \"b\", :value \"p\"}\n"
        "{:process 1, :type :invoke, :f :append, :key \"b\", :value \"q\"}\n" /* 5 */
        "{:process 1, :type :ok, :f :append, :key \"b\", :value \"q\"}\n"
        "{:process 0, :type :invoke, :f :get, :key \"a\", :value nil}\n"
        "{:process 0, :type :ok, :f :get, :key \"a\", :value \"x\"}\n"
        "{:process 2, :type :invoke, :f :get, :key \"b\", :value nil}\n" /* 9 */
        "{:process 2, :type :ok, :f :get, :key \"b\", :value \"q\"}\n";
    struct mini_run r;
    run(&r, text);
    cr_assert_eq(r.m.n_start, 3);
    cr_assert(r.m.n_ops >= 2 && r.m.n_ops <= 3, "%zu operations", r.m.n_ops);
    cr_assert(kept(&r, 9));
    cr_assert(kept(&r, 3), "the append the get lost");
    done(&r);
}

/* A valid history has nothing to minimize. */
Test(checker_minimize, refuses_a_valid_result)
{
    struct checker_history h = {0};
    struct checker_result res = {.verdict = CHECKER_VALID};
    struct checker_minimized m;
    char errmsg[FL_ERRMSG_SIZE] = "";
    cr_assert_lt(checker_minimize(&h, &checker_model_register, NULL, &res, CHECKER_PROC_AUTO, 0,
                                  &m, errmsg),
                 0);
}
