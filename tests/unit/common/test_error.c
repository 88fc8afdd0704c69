/* test_error.c - the FL_E* code list, fl_strerror and errmsg wrapping. */
#include "common/error.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

static const struct {
    int code;
    const char *desc;
} all[] = {
#define ROW(name, value, desc) {name, desc},
    FL_ERRORS(ROW)
#undef ROW
};

Test(fl_error, codes_are_distinct_negative_and_below_errno)
{
    size_t n = sizeof all / sizeof all[0];
    cr_assert_gt(n, 0);
    for (size_t i = 0; i < n; i++) {
        cr_assert_lt(all[i].code, -4095, "code %d would collide with a negative errno",
                     all[i].code);
        for (size_t j = i + 1; j < n; j++)
            cr_assert_neq(all[i].code, all[j].code);
    }
}

Test(fl_error, strerror_describes_every_code_and_errno)
{
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        cr_assert_str_eq(fl_strerror(all[i].code), all[i].desc);
    cr_assert_str_eq(fl_strerror(-ENOENT), strerror(ENOENT));
    cr_assert_str_eq(fl_strerror(-99999), "unknown error");
    cr_assert_str_eq(fl_strerror(1), "unknown error");
}

Test(fl_error, errorf_returns_the_code_and_truncates)
{
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(fl_errorf(errmsg, FL_EPARSE, "line %d: %s", 3, "bad"), FL_EPARSE);
    cr_assert_str_eq(errmsg, "line 3: bad");
    char big[600];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    fl_errorf(errmsg, FL_ELIMIT, "%s", big);
    cr_assert_eq(strlen(errmsg), FL_ERRMSG_SIZE - 1);
    cr_assert_eq(fl_errorf(NULL, FL_ESHAPE, "ignored"), FL_ESHAPE);
}

Test(fl_error, wrap_prefixes_context)
{
    char errmsg[FL_ERRMSG_SIZE];
    fl_errorf(errmsg, FL_ESHAPE, "value: expected a number");
    cr_assert_eq(fl_error_wrap(errmsg, FL_ESHAPE, "line %d", 7), FL_ESHAPE);
    fl_error_wrap(errmsg, FL_ESHAPE, "h.jsonl");
    cr_assert_str_eq(errmsg, "h.jsonl: line 7: value: expected a number");
    errmsg[0] = '\0';
    fl_error_wrap(errmsg, FL_ENOMEM, "loading");
    cr_assert_str_eq(errmsg, "loading: out of memory", "an empty message gets the description");
    char big[600];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    fl_error_wrap(errmsg, FL_ENOMEM, "%s", big);
    cr_assert_eq(strlen(errmsg), FL_ERRMSG_SIZE - 1, "truncated, terminated");
}

Test(fl_error, messages_stay_on_one_line)
{
    char errmsg[FL_ERRMSG_SIZE];
    fl_errorf(errmsg, FL_EPARSE, "f: \"%s\" is unknown", "a\nb\x1b[31m\t");
    cr_assert_str_eq(errmsg, "f: \"a?b?[31m?\" is unknown");
    fl_error_wrap(errmsg, FL_EPARSE, "line %d\r", 2);
    cr_assert_str_eq(errmsg, "line 2?: f: \"a?b?[31m?\" is unknown");
}
