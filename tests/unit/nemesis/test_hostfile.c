/* test_hostfile.c - the hosts file parser: the lab's file, defaults, and one error per rule,
 * each naming the file, the line and the field. */
#include "nemesis/hostfile.h"

#include "common/error.h"

#include <criterion/criterion.h>
#include <string.h>

static struct nemesis_hostfile HF;

static int parse(const char *text, char *err)
{
    return nemesis_hostfile_parse(text, strlen(text), "hosts.json", &HF, err);
}

Test(hostfile, lab_file_and_defaults)
{
    char err[FL_ERRMSG_SIZE] = "";
    const char *text =
        "{\"hosts\": [{\"name\": \"h1\", \"ssh\": \"root@203.0.113.11\", \"addr\": \"203.0.113.11\", "
        "\"port\": 22, \"identity\": \"/tmp/lab/id_ed25519\", \"known_hosts\": \"/tmp/lab/kh\", "
        "\"workdir\": \"/tmp/lab/h1/work\"},\n"
        " {\"name\": \"h2\", \"ssh\": \"db2.example\", \"addr\": \"10.0.0.2\"}]}";
    cr_assert_eq(parse(text, err), 0, "%s", err);
    cr_assert_eq(HF.n, 2);
    cr_assert_str_eq(HF.hosts[0].ssh, "root@203.0.113.11");
    cr_assert_eq(HF.hosts[0].port, 22);
    cr_assert_str_eq(HF.hosts[0].workdir, "/tmp/lab/h1/work");
    cr_assert_eq(HF.hosts[0].hostkeys, NEMESIS_HOSTKEYS_YES, "checked by default");
    cr_assert_eq(HF.hosts[0].line, 1);
    cr_assert_eq(HF.hosts[1].line, 2);
    cr_assert_eq(HF.hosts[1].port, 0, "ssh's default port");
    cr_assert_str_eq(HF.hosts[1].workdir, "/tmp/faultline-hosts");
    cr_assert_str_eq(HF.hosts[1].control, "", "learned from SSH_CONNECTION");
}

/* Each case: a file, and what its one-line error must say. */
static const struct {
    const char *text, *want;
} bad[] = {
    {"{\"hosts\": [\n{\"name\": \"h1\", \"ssh\": \"h1\"}\n]}", "hosts.json line 2: hosts[0].addr: missing"},
    {"{\"hosts\": [{\"name\": \"h1\", \"ssh\": \"h1\", \"addr\": \"10.0.0.1\"},\n"
     "  {\"name\": \"h2\",\n   \"ssh\": \"h2\",\n   \"addr\": \"192.0.2.7\"}]}",
     "hosts.json line 4: hosts[1].addr: expected an IPv4 address outside 192.0.2.0/24"},
    {"{\"hosts\": [{\"name\": \"h1\", \"ssh\": \"-oProxyCommand=x\", \"addr\": \"10.0.0.1\"}]}",
     "hosts[0].ssh: expected [user@]host"},
    {"{\"hosts\": [{\"name\": \"h1\", \"ssh\": \"h1\", \"addr\": \"10.0.0.1\",\n \"port\": 70000}]}",
     "hosts.json line 2: hosts[0].port: expected an integer in [1, 65535]"},
    {"{\"hosts\": [{\"name\": \"h1\", \"ssh\": \"h1\", \"addr\": \"10.0.0.1\", \"workdir\": \"/\"}]}",
     "hosts[0].workdir: expected an absolute folder other than /"},
    {"{\"hosts\": [{\"name\": \"h1\", \"ssh\": \"h1\", \"addr\": \"10.0.0.1\", \"workdir\": "
     "\"/tmp/../etc\"}]}",
     "hosts[0].workdir"},
    {"{\"hosts\": [{\"name\": \"h1\", \"ssh\": \"h1\", \"addr\": \"10.0.0.1\", \"identity\": "
     "\"/k'ey\"}]}",
     "hosts[0].identity: expected an absolute path"},
    {"{\"hosts\": [{\"name\": \"h1\", \"ssh\": \"h1\", \"addr\": \"10.0.0.1\"},\n"
     "{\"name\": \"h1\", \"ssh\": \"h2\", \"addr\": \"10.0.0.2\"}]}",
     "hosts.json line 2: hosts[1].name: \"h1\" is also hosts[0]'s name"},
    {"{\"hosts\": [{\"name\": \"h1\", \"ssh\": \"h1\", \"addr\": \"10.0.0.1\"},\n"
     "{\"name\": \"h2\", \"ssh\": \"h2\", \"addr\": \"10.0.0.1\"}]}",
     "hosts[1].addr: 10.0.0.1 is also hosts[0]'s address"},
    {"{\"hosts\": [{\"name\": \"h1\", \"ssh\": \"h1\", \"addr\": \"10.0.0.1\", \"control\": "
     "\"10.0.0.1\"}]}",
     "hosts[0].control: 10.0.0.1 is a host's address"},
    {"{\"hosts\": [{\"name\": \"h1\", \"ssh\": \"h1\", \"addr\": \"127.0.0.1\"}]}",
     "hosts[0].addr"},
    {"{\"hosts\": [{\"name\": \"h1\", \"ssh\": \"h1\", \"addr\": \"10.0.0.1\", \"user\": \"x\"}]}",
     "hosts[0]: unknown field \"user\""},
    {"{\"hosts\": [{\"name\": \"h1\", \"ssh\": \"h1\", \"addr\": \"10.0.0.1\", "
     "\"host_key_checking\": \"no\"}]}",
     "hosts[0].host_key_checking: expected \"yes\", \"accept-new\" or \"off\""},
    {"{\"hosts\": []}", "hosts: expected an array of 1 to 16 hosts"},
    {"{\"hosts\": [1]}", "hosts[0]: expected an object"},
    {"{\"hosts\": [{\"name\": \"h 1\", \"ssh\": \"h1\", \"addr\": \"10.0.0.1\"}]}",
     "hosts[0].name: expected letters"},
    {"{\"hosts\": [],\n \"extra\": 1}", "unknown field \"extra\""},
    {"{\"hosts\": [\n{\"name\": \"h1\",,}]}", "hosts.json line 2 column"},
    {"[1, 2]", "expected an object"},
};

Test(hostfile, every_error_names_file_line_and_field)
{
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[FL_ERRMSG_SIZE] = "";
        int rv = parse(bad[i].text, err);
        cr_expect_neq(rv, 0, "case %zu accepted", i);
        cr_expect(strstr(err, bad[i].want) != NULL, "case %zu: \"%s\" lacks \"%s\"", i, err,
                  bad[i].want);
        cr_expect_eq(strncmp(err, "hosts.json", 10), 0, "case %zu names the file: %s", i, err);
        cr_expect_eq(HF.n, 0, "case %zu: nothing kept from a refused file", i);
    }
}

Test(hostfile, host_key_checking_values)
{
    char err[FL_ERRMSG_SIZE] = "";
    cr_assert_eq(parse("{\"hosts\": [{\"name\": \"a\", \"ssh\": \"a\", \"addr\": \"10.1.1.1\", "
                       "\"host_key_checking\": \"off\"}, {\"name\": \"b\", \"ssh\": \"b\", "
                       "\"addr\": \"10.1.1.2\", \"host_key_checking\": \"accept-new\"}]}",
                       err),
                 0, "%s", err);
    cr_assert_eq(HF.hosts[0].hostkeys, NEMESIS_HOSTKEYS_OFF);
    cr_assert_eq(HF.hosts[1].hostkeys, NEMESIS_HOSTKEYS_ACCEPT_NEW);
}

Test(hostfile, addresses_the_safety_rules_refuse)
{
    cr_assert(nemesis_hostfile_addr_allowed("203.0.113.11"));
    cr_assert(nemesis_hostfile_addr_allowed("10.0.0.1"));
    cr_assert_not(nemesis_hostfile_addr_allowed("192.0.2.1"), "the root namespace's network");
    cr_assert_not(nemesis_hostfile_addr_allowed("192.0.2.255"));
    cr_assert(nemesis_hostfile_addr_allowed("192.0.3.1"));
    cr_assert_not(nemesis_hostfile_addr_allowed("127.0.0.1"));
    cr_assert_not(nemesis_hostfile_addr_allowed("0.0.0.0"));
    cr_assert_not(nemesis_hostfile_addr_allowed("224.0.0.1"));
    cr_assert_not(nemesis_hostfile_addr_allowed("255.255.255.255"));
    cr_assert_not(nemesis_hostfile_addr_allowed("10.0.0"));
    cr_assert_not(nemesis_hostfile_addr_allowed("host.example"));
}

Test(hostfile, oversized_and_missing_files)
{
    char err[FL_ERRMSG_SIZE] = "";
    cr_assert_eq(nemesis_hostfile_parse("{}", NEMESIS_HOSTFILE_MAX_BYTES + 1, "big.json", &HF, err),
                 FL_ELIMIT);
    cr_assert(strstr(err, "big.json") != NULL, "%s", err);
    cr_assert_lt(nemesis_hostfile_load("/nonexistent/hosts.json", &HF, err), 0);
    cr_assert(strstr(err, "/nonexistent/hosts.json") != NULL, "%s", err);
}
