/* test_remote.c - what remote.c would send to hosts, without sending it: each host's nft table
 * (the control's ssh connection accepted first, drops by source, only the run's table),
 * quoting, and the commands of a dry run. */
#include "nemesis/remote.h"

#include "common/error.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static struct nemesis_hostfile HF;
static struct nemesis_remote R;

static void lab(FILE *dry)
{
    const char *text =
        "{\"hosts\": [{\"name\": \"h1\", \"ssh\": \"root@203.0.113.11\", \"addr\": \"203.0.113.11\", "
        "\"workdir\": \"/w/h1\", \"control\": \"203.0.113.2\"},"
        "{\"name\": \"h2\", \"ssh\": \"root@203.0.113.12\", \"addr\": \"203.0.113.12\", "
        "\"workdir\": \"/w/h2\", \"port\": 2222, \"control\": \"203.0.113.2\"},"
        "{\"name\": \"h3\", \"ssh\": \"root@203.0.113.13\", \"addr\": \"203.0.113.13\", "
        "\"workdir\": \"/w/h3\", \"control\": \"203.0.113.2\"}]}";
    char err[FL_ERRMSG_SIZE] = "";
    cr_assert_eq(nemesis_hostfile_parse(text, strlen(text), "lab.json", &HF, err), 0, "%s", err);
    cr_assert_eq(nemesis_remote_init(&R, &HF, "abc123", 3, dry, err), 0, "%s", err);
}

static void fini(void)
{
    char err[FL_ERRMSG_SIZE];
    if (R.ctl_dir[0])
        nemesis_remote_close(&R, err);
}

Test(remote, no_fault_only_deletes_the_runs_table, .fini = fini)
{
    lab(NULL);
    char buf[4096], err[FL_ERRMSG_SIZE];
    cr_assert_eq(nemesis_remote_render(&R, 0, buf, sizeof buf, err), 0);
    cr_assert_str_eq(buf, "add table inet faultline_abc123\ndelete table inet faultline_abc123\n"
                          "add table ip faultline_abc123\ndelete table ip faultline_abc123\n");
}

Test(remote, isolation_drops_by_source_after_the_control_exemption, .fini = fini)
{
    lab(NULL);
    /* isolate n1: n1 -> n2, n3 and back. */
    R.part_drop[0] = 0x6;
    R.part_drop[1] = 0x1;
    R.part_drop[2] = 0x1;
    char buf[4096], err[FL_ERRMSG_SIZE];
    cr_assert_eq(nemesis_remote_render(&R, 0, buf, sizeof buf, err), 0);
    const char *accept = strstr(buf, "ip saddr 203.0.113.2 tcp dport 22 accept");
    const char *drop = strstr(buf, "ip saddr { 203.0.113.12, 203.0.113.13 } drop");
    cr_assert_not_null(accept, "%s", buf);
    cr_assert_not_null(drop, "%s", buf);
    cr_assert_lt(accept, drop, "the control's connection is accepted before any drop");
    cr_assert(strstr(buf, "hook input") != NULL, "dropped at the receiver: %s", buf);
    cr_assert_null(strstr(buf, "hook output"), "never at the sender: %s", buf);
    /* h2 listens for ssh on 2222: its exemption names that port. */
    cr_assert_eq(nemesis_remote_render(&R, 1, buf, sizeof buf, err), 0);
    cr_assert_not_null(strstr(buf, "ip saddr 203.0.113.2 tcp dport 2222 accept"), "%s", buf);
    cr_assert_not_null(strstr(buf, "ip saddr { 203.0.113.11 } drop"), "%s", buf);
    cr_assert_null(strstr(buf, "203.0.113.13 } drop"), "h2 still hears h3: %s", buf);
    /* Only the run's own table, never another (no flush, no other name). */
    cr_assert_null(strstr(buf, "flush"), "%s", buf);
    const char *p = buf;
    while ((p = strstr(p, "table ")) != NULL) {
        cr_assert(strncmp(p, "table inet faultline_abc123", 27) == 0 ||
                      strncmp(p, "table ip faultline_abc123", 25) == 0,
                  "%s", p);
        p += 6;
    }
}

Test(remote, one_way_and_loss, .fini = fini)
{
    lab(NULL);
    R.part_drop[2] = 0x2; /* n3 -> n2 only */
    R.loss_drop[0] = 0x4; /* n1 -> n3 lossy */
    R.loss_percent = 20;
    char buf[4096], err[FL_ERRMSG_SIZE];
    cr_assert_eq(nemesis_remote_render(&R, 1, buf, sizeof buf, err), 0);
    cr_assert_not_null(strstr(buf, "ip saddr { 203.0.113.13 } drop"), "%s", buf);
    cr_assert_eq(nemesis_remote_render(&R, 2, buf, sizeof buf, err), 0);
    cr_assert_not_null(strstr(buf, "ip saddr { 203.0.113.11 } numgen random mod 100 < 20 drop"),
                       "%s", buf);
    cr_assert_null(strstr(buf, "} drop"), "n3 receives everything else: %s", buf);
    cr_assert_eq(nemesis_remote_render(&R, 0, buf, sizeof buf, err), 0);
    cr_assert_null(strstr(buf, "chain"), "n1 receives everything: %s", buf);
}

/* Delay: the receiver queues its peers' packets to the run's queue, after the control's
 * exemption and after the drops (a dropped packet is never held), with bypass. */
Test(remote, delay_queues_at_the_receiver_after_the_drops, .fini = fini)
{
    lab(NULL);
    R.delay_drop[0] = 0x6; /* every link */
    R.delay_drop[1] = 0x5;
    R.delay_drop[2] = 0x3;
    R.part_drop[2] = 0x2; /* n3 -> n2 cut too */
    char buf[4096], err[FL_ERRMSG_SIZE], want[128];
    cr_assert_eq(nemesis_remote_render(&R, 1, buf, sizeof buf, err), 0);
    snprintf(want, sizeof want, "ip saddr { 203.0.113.11, 203.0.113.13 } queue num %u bypass",
             R.queue_num);
    const char *accept = strstr(buf, "tcp dport 2222 accept");
    const char *drop = strstr(buf, "ip saddr { 203.0.113.13 } drop");
    const char *queue = strstr(buf, want);
    cr_assert(accept && drop && queue, "%s", buf);
    cr_assert(accept < drop && drop < queue, "exemption, drops, then the queue: %s", buf);
    cr_assert_geq(R.queue_num, 0x4000, "the run's own queue, away from 0 and the low numbers");
    cr_assert_null(strstr(buf, "dup"), "%s", buf);
}

/* Duplication: made by the sender, towards hosts-file addresses only, in the run's ip table
 * (nft has no dup in the inet family). */
Test(remote, duplicate_at_the_sender_in_the_ip_table, .fini = fini)
{
    lab(NULL);
    R.dup_drop[0] = 0x6;
    R.dup_percent = 30;
    char buf[4096], err[FL_ERRMSG_SIZE];
    cr_assert_eq(nemesis_remote_render(&R, 0, buf, sizeof buf, err), 0);
    const char *t = strstr(buf, "table ip faultline_abc123 {");
    cr_assert_not_null(t, "%s", buf);
    cr_assert_not_null(strstr(t, "hook output"), "%s", buf);
    cr_assert_not_null(
        strstr(t, "ip daddr { 203.0.113.12, 203.0.113.13 } numgen random mod 100 < 30 dup to ip "
                  "daddr"),
        "%s", buf);
    cr_assert_null(strstr(buf, "table inet faultline_abc123 {"), "nothing else on: %s", buf);
    cr_assert_eq(nemesis_remote_render(&R, 1, buf, sizeof buf, err), 0);
    cr_assert_null(strstr(buf, "dup"), "n2 sends no copies: %s", buf);
    R.dup_percent = 100;
    cr_assert_eq(nemesis_remote_render(&R, 0, buf, sizeof buf, err), 0);
    cr_assert_not_null(strstr(buf, "ip daddr { 203.0.113.12, 203.0.113.13 } dup to ip daddr"),
                       "%s", buf);
}

Test(remote, quoting_and_the_run_folder, .fini = fini)
{
    lab(NULL);
    char buf[256] = "";
    cr_assert(nemesis_remote_quote(&R, 1, NEMESIS_REMOTE_DIR "/n2", buf, sizeof buf));
    cr_assert_str_eq(buf, "'/w/h2/fl-abc123/n2'");
    buf[0] = '\0';
    cr_assert(nemesis_remote_quote(&R, 0, "it's $(rm -rf /)", buf, sizeof buf));
    cr_assert_str_eq(buf, "'it'\\''s $(rm -rf /)'");
    buf[0] = '\0';
    /* Anywhere in the word: a foreign node's "--data={data}", its /bin/sh group script. */
    cr_assert(nemesis_remote_quote(&R, 0, "--data=" NEMESIS_REMOTE_DIR "/n1 x'" NEMESIS_REMOTE_DIR,
                                   buf, sizeof buf));
    cr_assert_str_eq(buf, "'--data=/w/h1/fl-abc123/n1 x'\\''/w/h1/fl-abc123'");
    char small[8] = "";
    cr_assert_not(nemesis_remote_quote(&R, 0, "much too long", small, sizeof small));
}

Test(remote, dry_run_prints_every_command_and_runs_none, .fini = fini)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    lab(out);
    char err[FL_ERRMSG_SIZE] = "";
    cr_assert_eq(nemesis_remote_open(&R, true, err), 0, "%s", err);
    const char *argv[] = {NEMESIS_REMOTE_DIR "/faultline-node", "--data", NEMESIS_REMOTE_DIR "/n1",
                          NULL};
    const char *env[] = {"FAKETIME_TIMESTAMP_FILE=" NEMESIS_REMOTE_DIR "/clock/n1.faketime", NULL};
    pid_t pid = 0;
    cr_assert_eq(nemesis_remote_start(&R, 0, argv, env, "n1.log", &pid, err), 0, "%s", err);
    cr_assert_eq(pid, 1);
    cr_assert_eq(nemesis_remote_signal(&R, 0, 4242, SIGSTOP, err), 0, "%s", err);
    R.part_drop[0] = 0x2;
    cr_assert_eq(nemesis_remote_net_sync(&R, err), 0, "%s", err);
    cr_assert_eq(nemesis_remote_clock(&R, 2, "+1.500s x1.000", err), 0, "%s", err);
    uint32_t all[NEMESIS_MAX_NODES] = {0x6, 0x5, 0x3};
    uint64_t packets = 0, held = 0;
    cr_assert_eq(nemesis_remote_delay_start(&R, all, 40, 5, 10, 9, err), 0, "%s", err);
    cr_assert_eq(nemesis_remote_delay_stop(&R, &packets, &held, err), 0, "%s", err);
    /* Into local files (job_start_to_file): a fetch, a log follower, the capture. None is
     * opened in a dry run (the folder does not exist). */
    cr_assert_eq(nemesis_remote_fetch(&R, 1, "n2.log", "/nonexistent/n2.log", err), 0, "%s", err);
    cr_assert_eq(nemesis_remote_follow(&R, 2, "n3.log", "/nonexistent/n3.log", &pid, err), 0,
                 "%s", err);
    cr_assert_eq(pid, 0);
    cr_assert_eq(nemesis_remote_capture_start(&R, "/nonexistent", 0, err), 0, "%s", err);
    cr_assert_eq(nemesis_remote_close(&R, err), 0, "%s", err);
    fclose(out);
    cr_assert_not_null(strstr(text, "h1 (root@203.0.113.11): echo \"$SSH_CONNECTION\""), "%s", text);
    cr_assert_not_null(strstr(text, "mkdir -p -m 700 '/w/h3/fl-abc123'"), "%s", text);
    cr_assert_not_null(
        strstr(text, "cd '/w/h1/fl-abc123' || exit 1; FAULTLINE_WORKDIR='/w/h1' FAULTLINE_RUN=abc123 "
                     "FAKETIME_TIMESTAMP_FILE='/w/h1/fl-abc123/clock/n1.faketime' setsid "
                     "'/w/h1/fl-abc123/faultline-node' '--data' '/w/h1/fl-abc123/n1' "
                     ">>'/w/h1/fl-abc123/n1.log' 2>&1 </dev/null & echo $!"),
        "%s", text);
    cr_assert_not_null(strstr(text, "kill -19 -- -4242"), "%s", text);
    cr_assert_not_null(strstr(text, "h2 (root@203.0.113.12): cat '/w/h2/fl-abc123/n2.log'\n"),
                       "%s", text);
    cr_assert_not_null(strstr(text, "h3 (root@203.0.113.13): FAULTLINE_WORKDIR='/w/h3' "
                                    "FAULTLINE_RUN=abc123 exec tail -n +1 -F "
                                    "'/w/h3/fl-abc123/n3.log' 2>/dev/null\n"),
                       "%s", text);
    cr_assert_not_null(strstr(text, "FAULTLINE_CAPTURE=1 exec tcpdump -i \"$i\" -Q in -U -s "
                                    "262144 -w - 'not (tcp port 22 and host 203.0.113.2)'"),
                       "%s", text);
    /* The partition touched h2 only (n1 -> n2): one nft load. */
    cr_assert_not_null(strstr(text, "h2 (root@203.0.113.12): nft -f -"), "%s", text);
    const char *h1_nft = strstr(text, "h1 (root@203.0.113.11): nft -f -");
    cr_assert(h1_nft == NULL || h1_nft > strstr(text, "faultline-delayer"),
              "h1 loaded before the delay: %s", text);
    cr_assert_not_null(strstr(text, "printf '%s\\n' '+1.500s x1.000' > "
                                    "'/w/h3/fl-abc123/clock/n3.faketime.tmp' && mv -f"),
                       "%s", text);
    cr_assert_not_null(strstr(text, "nft delete table inet faultline_abc123"), "%s", text);
    cr_assert_not_null(strstr(text, "nft delete table ip faultline_abc123"), "%s", text);
    /* The delayer: started with the run's markers, waited for, queued to, stopped. */
    char want[200];
    snprintf(want, sizeof want,
             "FAULTLINE_WORKDIR='/w/h2' FAULTLINE_RUN=abc123 setsid "
             "'/w/h2/fl-abc123/faultline-delayer' '--queue' '%u' '--delay' '40' '--jitter' '5' "
             "'--reorder' '10' '--seed'",
             R.queue_num);
    cr_assert_not_null(strstr(text, want), "%s", text);
    cr_assert_not_null(strstr(text, "grep -qs '^ready' '/w/h3/fl-abc123/delayer1.log'"), "%s",
                       text);
    snprintf(want, sizeof want, "queue num %u bypass", R.queue_num);
    cr_assert_not_null(strstr(text, want), "%s", text);
    cr_assert_not_null(strstr(text, "kill -TERM -- -1 2>/dev/null"), "%s", text);
    /* The run folder removed after what is mounted under it (a killed disk daemon's) is
     * detached. */
    cr_assert_not_null(strstr(text, "d='/w/h2/fl-abc123'; for mp in $(awk"), "%s", text);
    cr_assert_not_null(strstr(text, "fusermount3 -uz \"$mp\""), "%s", text);
    cr_assert_not_null(strstr(text, "done; rm -rf \"$d\""), "%s", text);
    free(text);
}

Test(remote, more_nodes_than_hosts_is_refused)
{
    char err[FL_ERRMSG_SIZE] = "";
    const char *text = "{\"hosts\": [{\"name\": \"h1\", \"ssh\": \"h1\", \"addr\": \"10.0.0.1\"}]}";
    cr_assert_eq(nemesis_hostfile_parse(text, strlen(text), "one.json", &HF, err), 0, "%s", err);
    cr_assert_eq(nemesis_remote_init(&R, &HF, "abc123", 3, NULL, err), FL_EUSAGE);
    cr_assert_not_null(strstr(err, "3 nodes but 1 hosts in one.json"), "%s", err);
    R.ctl_dir[0] = '\0';
}
