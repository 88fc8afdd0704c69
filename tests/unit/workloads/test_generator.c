/* test_generator.c - generated operations: string values of workload.value_bytes, whole. */
#include <criterion/criterion.h>
#include <string.h>

#include "workloads/generator.h"

/* Every value the first `ops` operations of model m carry, checked to be
 * strings of exactly `bytes` characters; returns how many were seen. */
static unsigned check_values(enum workload_model m, unsigned bytes, unsigned ops)
{
    struct workload_generator_config c;
    workload_generator_defaults(&c, m);
    c.value_bytes = bytes;
    c.seed = 42;
    struct workload_generator g;
    cr_assert_eq(workload_generator_init(&g, &c), 0);
    unsigned seen = 0;
    for (unsigned i = 0; i < ops; i++) {
        json_t *op = workload_generator_next(&g);
        cr_assert_not_null(op);
        json_t *v = json_object_get(op, "value");
        const char *f = json_string_value(json_object_get(op, "f"));
        json_t *vals[2] = {v, NULL};
        if (strcmp(f, "cas") == 0) {
            vals[0] = json_array_get(v, 0);
            vals[1] = json_array_get(v, 1);
        }
        for (int k = 0; k < 2 && vals[k] != NULL; k++) {
            if (k == 0 && strcmp(f, "cas") == 0 && json_is_integer(vals[0]))
                continue; /* cas from "absent" (0) */
            cr_assert(json_is_string(vals[k]), "%s: value is not a string", f);
            cr_assert_eq(json_string_length(vals[k]), bytes, "%s: %zu bytes, not %u", f,
                         json_string_length(vals[k]), bytes);
            seen++;
        }
        json_decref(op);
    }
    workload_generator_close(&g);
    return seen;
}

Test(workload_generator, kv_values_are_as_long_as_value_bytes_up_to_64_kib)
{
    /* Issue 11: accepted up to 65536, silently cut at 4095. */
    cr_assert_gt(check_values(WORKLOAD_KV, 8192, 200), 50);
    cr_assert_gt(check_values(WORKLOAD_KV, 65536, 200), 50);
    cr_assert_gt(check_values(WORKLOAD_KV, 4096, 50), 10);
    /* around the generator's stack buffer (512 bytes) */
    cr_assert_gt(check_values(WORKLOAD_KV, 100, 200), 50);
    cr_assert_gt(check_values(WORKLOAD_KV, 511, 200), 50);
    cr_assert_gt(check_values(WORKLOAD_KV, 512, 200), 50);
}

Test(workload_generator, register_and_queue_values_follow_value_bytes_too)
{
    cr_assert_gt(check_values(WORKLOAD_REGISTER, 9000, 200), 50);
    cr_assert_gt(check_values(WORKLOAD_QUEUE, 9000, 200), 50);
}

Test(workload_generator, string_values_stay_unique)
{
    struct workload_generator_config c;
    workload_generator_defaults(&c, WORKLOAD_KV);
    c.value_bytes = 8;
    c.mix = (struct workload_mix){.write = 1};
    struct workload_generator g;
    cr_assert_eq(workload_generator_init(&g, &c), 0);
    json_t *seen = json_object();
    for (unsigned i = 0; i < 2000; i++) {
        json_t *op = workload_generator_next(&g);
        const char *v = json_string_value(json_object_get(op, "value"));
        cr_assert_not_null(v);
        cr_assert_null(json_object_get(seen, v), "value %s twice", v);
        json_object_set_new(seen, v, json_true());
        json_decref(op);
    }
    json_decref(seen);
    workload_generator_close(&g);
}

/* Transactions: 1..txn_max_ops micro-ops, each [f, key, value] with f "r"
 * (null) or the model's write (append / w) of an integer no other micro-op
 * wrote; the final reads are one txn per key handed out, reading it. */
static void check_txn(enum workload_model m, const char *wf, unsigned max_ops)
{
    struct workload_generator_config c;
    workload_generator_defaults(&c, m);
    c.txn_max_ops = max_ops;
    c.rotation_ops = 7; /* several keys retire: the final read must cover them all */
    c.seed = 7;
    struct workload_generator g;
    cr_assert_eq(workload_generator_init(&g, &c), 0);
    cr_assert(workload_model_is_txn(m));
    json_t *seen_keys = json_object(), *seen_vals = json_object();
    unsigned sizes[WORKLOAD_TXN_MAX_OPS + 1] = {0}, reads = 0, writes = 0;
    for (unsigned i = 0; i < 2000; i++) {
        json_t *op = workload_generator_next(&g);
        cr_assert_not_null(op);
        cr_assert_str_eq(json_string_value(json_object_get(op, "f")), "txn");
        cr_assert_null(json_object_get(op, "key"));
        json_t *mops = json_object_get(op, "value");
        size_t n = json_array_size(mops);
        cr_assert(n >= 1 && n <= max_ops, "%zu micro-ops", n);
        sizes[n]++;
        for (size_t k = 0; k < n; k++) {
            json_t *mop = json_array_get(mops, k);
            cr_assert_eq(json_array_size(mop), 3);
            const char *f = json_string_value(json_array_get(mop, 0));
            const char *key = json_string_value(json_array_get(mop, 1));
            json_t *v = json_array_get(mop, 2);
            cr_assert_not_null(f);
            cr_assert_not_null(key);
            json_object_set_new(seen_keys, key, json_true());
            if (strcmp(f, "r") == 0) {
                cr_assert(json_is_null(v));
                reads++;
                continue;
            }
            cr_assert_str_eq(f, wf);
            cr_assert(json_is_integer(v));
            char num[32];
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
            cr_assert_null(json_object_get(seen_vals, num), "value %s written twice", num);
            json_object_set_new(seen_vals, num, json_true());
            writes++;
        }
        json_decref(op);
    }
    cr_assert(reads > 500 && writes > 500, "reads %u writes %u", reads, writes);
    cr_assert(sizes[1] > 0 && sizes[max_ops] > 0, "sizes 1 and %u both occur", max_ops);
    json_t *keys[2048];
    uint64_t nk = workload_generator_keys(&g, keys, 2048);
    cr_assert_eq(nk, json_object_size(seen_keys));
    cr_assert_leq(nk, 2048);
    for (uint64_t i = 0; i < nk; i++) {
        cr_assert_not_null(json_object_get(seen_keys, json_string_value(keys[i])));
        json_t *fin = workload_generator_read(&g, keys[i]);
        cr_assert_str_eq(json_string_value(json_object_get(fin, "f")), "txn");
        json_t *mops = json_object_get(fin, "value");
        cr_assert_eq(json_array_size(mops), 1);
        json_t *mop = json_array_get(mops, 0);
        cr_assert_str_eq(json_string_value(json_array_get(mop, 0)), "r");
        cr_assert(json_equal(json_array_get(mop, 1), keys[i]));
        cr_assert(json_is_null(json_array_get(mop, 2)));
        json_decref(fin);
        json_decref(keys[i]);
    }
    json_decref(seen_keys);
    json_decref(seen_vals);
    workload_generator_close(&g);
}

Test(generator, list_append_txns)
{
    check_txn(WORKLOAD_LIST_APPEND, "append", 4);
}

Test(generator, rw_register_txns)
{
    check_txn(WORKLOAD_RW_REGISTER, "w", 6);
}

Test(generator, txn_model_names)
{
    enum workload_model m;
    cr_assert_eq(workload_model_parse("list-append", &m), 0);
    cr_assert_eq(m, WORKLOAD_LIST_APPEND);
    cr_assert_eq(workload_model_parse("rw-register", &m), 0);
    cr_assert_str_eq(workload_model_name(m), "rw-register");
    cr_assert(!workload_model_is_txn(WORKLOAD_KV));
}
