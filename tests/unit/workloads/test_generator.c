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
