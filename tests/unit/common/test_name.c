/* test_name.c - fl_name_ok: the characters of a name, with and without '.'. */
#include "common/name.h"

#include <criterion/criterion.h>

Test(common_name, letters_digits_dash_underscore)
{
    cr_assert(fl_name_ok("h1", false));
    cr_assert(fl_name_ok("Runner_2-b", false));
    cr_assert(fl_name_ok("Runner_2-b", true));
    cr_assert_not(fl_name_ok("", false));
    cr_assert_not(fl_name_ok("", true));
    cr_assert_not(fl_name_ok("a b", true));
    cr_assert_not(fl_name_ok("a/b", true));
    cr_assert_not(fl_name_ok("a;b", true));
    cr_assert_not(fl_name_ok("\xc3\xa9", true));
}

Test(common_name, dot_only_when_allowed)
{
    cr_assert(fl_name_ok("nightly.1", true));
    cr_assert_not(fl_name_ok("nightly.1", false));
    cr_assert_not(fl_name_ok(".", false));
}

Test(common_name, never_this_folder_or_its_parent)
{
    cr_assert_not(fl_name_ok(".", true));
    cr_assert_not(fl_name_ok("..", true));
    cr_assert_not(fl_name_ok("..", false));
    cr_assert(fl_name_ok("...", true), "one component of its own");
    cr_assert(fl_name_ok("..a", true));
    cr_assert(fl_name_ok(".hidden", true));
}
