/* test_json.c - figures in JSON: NaN for what is absent, null for what JSON cannot hold. */
#include "common/json.h"

#include <criterion/criterion.h>
#include <math.h>

Test(fl_json, number_reads_integers_and_reals_and_nan_otherwise)
{
    json_t *i = json_integer(7), *r = json_real(2.5), *s = json_string("7");
    cr_assert_float_eq(fl_json_number(i), 7.0, 1e-12);
    cr_assert_float_eq(fl_json_number(r), 2.5, 1e-12);
    cr_assert(isnan(fl_json_number(s)));
    cr_assert(isnan(fl_json_number(NULL)));
    json_decref(i);
    json_decref(r);
    json_decref(s);
}

Test(fl_json, real_writes_null_for_nan_and_infinity)
{
    json_t *a = fl_json_real(NAN), *b = fl_json_real(INFINITY), *c = fl_json_real(1.25);
    cr_assert(json_is_null(a));
    cr_assert(json_is_null(b));
    cr_assert(json_is_real(c));
    cr_assert_float_eq(json_real_value(c), 1.25, 1e-12);
    json_decref(a);
    json_decref(b);
    json_decref(c);
}
