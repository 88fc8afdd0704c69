/* test_registry.c - the leftover registry: exclusive records and temp dirs named in the
 * record before they exist (a private registry directory: no root needed). */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "nemesis/registry.h"
#include "nemesis/topology.h"

static char dir[64], base[64];

static void init(void)
{
    snprintf(dir, sizeof dir, "/tmp/fltest-registry-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(base, sizeof base, "%s/tmp", dir);
    cr_assert_eq(mkdir(base, 0700), 0);
}

static void fini(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(nemesis_registry, .init = init, .fini = fini);

static void record(const char *run, struct nemesis_registry *r)
{
    struct nemesis_topology t;
    char em[FL_ERRMSG_SIZE];
    cr_assert_eq(nemesis_topology_plan(&t, run, NULL, 3, em), 0, "%s", em);
    cr_assert_eq(nemesis_registry_init(r, &t), 0);
}

static void load(const char *run, struct nemesis_registry *r)
{
    char path[512], em[FL_ERRMSG_SIZE];
    cr_assert_eq(nemesis_registry_path(dir, run, path, sizeof path), 0);
    cr_assert_eq(nemesis_registry_load(path, r, em), 0, "%s", em);
}

Test(nemesis_registry, create_never_takes_another_runs_record)
{
    struct nemesis_registry r, got;
    char em[FL_ERRMSG_SIZE];
    record("a1b2c3", &r);
    cr_assert_eq(nemesis_registry_create(dir, &r, em), 0, "%s", em);
    r.owner = 1; /* another harness, same run id */
    cr_assert_eq(nemesis_registry_create(dir, &r, em), -EEXIST);
    cr_assert(strstr(em, "a1b2c3"), "%s", em);
    load("a1b2c3", &got);
    cr_assert_eq(got.owner, getpid(), "the first record stands");
}

Test(nemesis_registry, mkdtemp_names_the_dir_in_the_record_and_makes_it_0700)
{
    struct nemesis_registry r, got;
    char em[FL_ERRMSG_SIZE], a[128], b[128];
    record("d4e5f6", &r);
    cr_assert_eq(nemesis_registry_create(dir, &r, em), 0, "%s", em);
    snprintf(a, sizeof a, "%s/fl-d4e5f6-XXXXXX", base);
    snprintf(b, sizeof b, "%s/fl-d4e5f6-XXXXXX", base);
    cr_assert_eq(nemesis_registry_mkdtemp(dir, "d4e5f6", a, em), 0, "%s", em);
    cr_assert_eq(nemesis_registry_mkdtemp(dir, "d4e5f6", b, em), 0, "%s", em);
    cr_assert_str_neq(a, b);
    cr_assert_null(strstr(a, "XXXXXX"), "%s", a);
    struct stat st;
    cr_assert_eq(stat(a, &st), 0);
    cr_assert(S_ISDIR(st.st_mode));
    cr_assert_eq(st.st_mode & 0777, 0700);
    load("d4e5f6", &got);
    cr_assert_eq(got.n_dirs, 2);
    cr_assert_str_eq(got.dirs[0], a);
    cr_assert_str_eq(got.dirs[1], b);
}

Test(nemesis_registry, mkdtemp_without_a_record_or_a_template_creates_nothing)
{
    char em[FL_ERRMSG_SIZE], t[128];
    snprintf(t, sizeof t, "%s/fl-0a0b0c-XXXXXX", base);
    cr_assert_eq(nemesis_registry_mkdtemp(dir, "0a0b0c", t, em), -ENOENT);
    snprintf(t, sizeof t, "%s/fl-0a0b0c-", base);
    cr_assert_eq(nemesis_registry_mkdtemp(dir, "0a0b0c", t, em), -EINVAL);
    cr_assert(strstr(em, "XXXXXX"), "%s", em);
    struct nemesis_registry r;
    record("0a0b0c", &r);
    cr_assert_eq(nemesis_registry_create(dir, &r, em), 0, "%s", em);
    snprintf(t, sizeof t, "%s/missing/fl-0a0b0c-XXXXXX", base);
    cr_assert_eq(nemesis_registry_mkdtemp(dir, "0a0b0c", t, em), -ENOENT, "%s", em);
    struct nemesis_registry got;
    load("0a0b0c", &got);
    cr_assert_eq(got.n_dirs, 0, "a dir it could not make is not left in the record");
    char cmd[160];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A %s)\"", base);
    cr_assert_eq(system(cmd), 0, "nothing created in %s", base);
}
