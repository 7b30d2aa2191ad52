/*  test_e2e_monitor.c - checkout-monitor against the real, running system
    After a known W1 load, --once must report the coordinators' counts.
*/
#include <criterion/criterion.h>
#include "e2e_helpers.h"

#define READY_MS 20000
#define LOAD     300                    //  W1 k = 0..299

static e2e_group_t s_group;
static e2e_book_t s_book;

static void
s_init (void)
{
    cr_assert_eq (e2e_group_init (&s_group, "ck-e2e-monitor"), 0, "no temp dir");
}

static void
s_fini (void)
{
    e2e_book_fini (&s_book);
    e2e_group_fini (&s_group);
}

TestSuite (e2e_monitor, .init = s_init, .fini = s_fini, .timeout = 120);

//  The value of "key: value" in text, or -1 when the line is missing
static long
s_value (const char *text, const char *key)
{
    char needle [64];
    snprintf (needle, sizeof needle, "\n%s: ", key);
    const char *at = strstr (text, needle);
    return at? strtol (at + strlen (needle), NULL, 10): -1;
}

Test (e2e_monitor, once_after_a_known_load_shows_the_counts)
{
    cr_assert_geq (e2e_start_group (&s_group, NULL, READY_MS), 0,
                   "the group did not come up (logs in %s)", s_group.dir);
    ck_client_t *client = e2e_client (&s_group);
    cr_assert_not_null (client);
    cr_assert_eq (e2e_book_init (&s_book, LOAD), 0);
    cr_assert_eq (e2e_drive (client, &s_book, 32, 60000), 0,
                  "%zu of %d RESULTs", s_book.terminal, LOAD);

    //  W1's plan for k < 300: 6 out_of_stock, 15 card_declined, 3 unserviceable
    long expected_failed = 0;
    for (uint64_t k = 0; k < LOAD; k++)
        expected_failed += w1_expected (k).status == CK_STATUS_FAILED;
    cr_assert_eq (expected_failed, 24);

    char program [PATH_MAX + 32], out [PATH_MAX], err [PATH_MAX];
    snprintf (program, sizeof program, "%s/checkout-monitor", s_group.bin);
    e2e_path (&s_group, "monitor.out", out, sizeof out);
    e2e_path (&s_group, "monitor.err", err, sizeof err);
    char *argv [] = { program, "--events", s_group.events, "--once", "--timeout", "5000", NULL };
    pid_t pid = ph_spawn2 (program, argv, out, err);
    cr_assert_gt (pid, 0);
    int status;
    cr_assert_eq (ph_wait (pid, 15000, &status), 0, "checkout-monitor --once did not end");
    cr_assert_eq (ph_exit_code (status), 0, "exit %d", ph_exit_code (status));

    char *text = ph_slurp (out);
    cr_assert_not_null (text);
    //  a leading newline lets every key be found as "\nkey: "
    char *lines = zsys_sprintf ("\n%s", text);
    cr_expect_eq (s_value (lines, "started"), LOAD, "%s", text);
    cr_expect_eq (s_value (lines, "confirmed"), LOAD - expected_failed, "%s", text);
    cr_expect_eq (s_value (lines, "failed"), expected_failed, "%s", text);
    cr_expect_eq (s_value (lines, "stuck"), 0, "%s", text);
    cr_expect_eq (s_value (lines, "in_flight"), 0, "%s", text);
    cr_expect_eq (s_value (lines, "bad_messages"), 0, "%s", text);
    cr_expect_not_null (strstr (lines, "\nservice.inventory: instances=1"), "%s", text);
    cr_expect_not_null (strstr (lines, "\nservice.payment: instances=1"), "%s", text);
    cr_expect_not_null (strstr (lines, "\nservice.order: instances=1"), "%s", text);
    zstr_free (&lines);
    free (text);
}

//  Two coordinators, each on its own SQLite saga log, the participants
//  connected to both; the load goes to the first.  One monitor watches
//  both: each on its own line, the workers they share counted once.
Test (e2e_monitor, once_shows_two_coordinators)
{
    enum { SOME = 60 };
    char frontend2 [128], backend2 [128], events2 [128], db2 [PATH_MAX];
    snprintf (frontend2, sizeof frontend2, "ipc://%s/fe2", s_group.dir);
    snprintf (backend2, sizeof backend2, "ipc://%s/be2", s_group.dir);
    snprintf (events2, sizeof events2, "ipc://%s/ev2", s_group.dir);
    e2e_path (&s_group, "coordinator2.db", db2, sizeof db2);
    cr_assert_geq (e2e_start_coordinator (&s_group, NULL), 0);
    const char *second [] = { "--frontend", frontend2, "--backend", backend2, "--events", events2,
                              "--db", db2, "--heartbeat-ms", "200", "--liveness", "5", NULL };
    cr_assert_geq (e2e_spawn (&s_group, "coordinator2", "checkout-coordinator", second), 0);
    const char *both [] = { "--coordinator", backend2, NULL };
    cr_assert_geq (e2e_start_participant (&s_group, "inventory", "inventory-1", both), 0);
    cr_assert_geq (e2e_start_participant (&s_group, "payment", "payment-1", both), 0);
    cr_assert_geq (e2e_start_participant (&s_group, "order", "order-1", both), 0);
    cr_assert_eq (e2e_wait_ready (&s_group, 1, 1, 1, READY_MS), 0,
                  "the group did not come up (logs in %s)", s_group.dir);
    ck_client_t *client = e2e_client (&s_group);
    cr_assert_not_null (client);
    cr_assert_eq (e2e_book_init (&s_book, SOME), 0);
    cr_assert_eq (e2e_drive (client, &s_book, 16, 60000), 0,
                  "%zu of %d RESULTs", s_book.terminal, SOME);

    char program [PATH_MAX + 32], out [PATH_MAX], err [PATH_MAX], events [300];
    snprintf (program, sizeof program, "%s/checkout-monitor", s_group.bin);
    snprintf (events, sizeof events, "%s,%s", s_group.events, events2);
    e2e_path (&s_group, "monitor2.out", out, sizeof out);
    e2e_path (&s_group, "monitor2.err", err, sizeof err);
    //  the second coordinator's stats must show the participants too:
    //  a few tries, each --once a fresh snapshot
    char *text = NULL;
    for (int attempt = 0; attempt < 10; attempt++) {
        char *argv [] = { program, "--events", events, "--once", "--timeout", "5000", NULL };
        pid_t pid = ph_spawn2 (program, argv, out, err);
        cr_assert_gt (pid, 0);
        int status;
        cr_assert_eq (ph_wait (pid, 15000, &status), 0, "checkout-monitor --once did not end");
        cr_assert_eq (ph_exit_code (status), 0, "exit %d", ph_exit_code (status));
        free (text);
        text = ph_slurp (out);
        cr_assert_not_null (text);
        if (strstr (text, "\nservice.order: instances=1 ") && strstr (text, "started: 60\n"))
            break;
        zclock_sleep (500);
    }
    char *lines = zsys_sprintf ("\n%s", text);
    char first [256], other [256];
    snprintf (first, sizeof first, "\ncoordinator.%s: connected; in_flight=0 ", s_group.events);
    snprintf (other, sizeof other, "\ncoordinator.%s: connected; in_flight=0 ", events2);
    cr_expect (strstr (lines, "\ncoordinators: 2 (2 connected)\n"), "%s", text);
    const char *at = strstr (lines, first);
    cr_expect (at && strstr (at, " started=60 "), "%s", text);
    at = strstr (lines, other);
    cr_expect (at && strstr (at, " started=0 confirmed=0 failed=0; "), "%s", text);
    //  the merged part: the load once, each participant once though both see it
    cr_expect_eq (s_value (lines, "started"), SOME, "%s", text);
    cr_expect_eq (s_value (lines, "in_flight"), 0, "%s", text);
    cr_expect (strstr (lines, "\nservice.inventory: instances=1 "), "%s", text);
    cr_expect (strstr (lines, "\nservice.payment: instances=1 "), "%s", text);
    cr_expect (strstr (lines, "\nservice.order: instances=1 "), "%s", text);
    cr_expect_null (strstr (lines, "\nwarning: "), "no partitions on SQLite: %s", text);
    zstr_free (&lines);
    free (text);
}
