/*  test_e2e_curve.c - CURVE and roles, end to end with real processes
    Keys from checkout-keys; a W1 run, unknown keys, wrong roles, revocation.
*/
#include <criterion/criterion.h>
#include "e2e_helpers.h"
#include "peer_helpers.h"
#include "keyring.h"
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#define READY_MS    30000
#define DONE_MS     60000

static e2e_group_t s_group;
static e2e_book_t s_book;
static e2e_dbs_t s_dbs;

static void
s_init (void)
{
    cr_assert_eq (e2e_group_init (&s_group, "ck-e2e-curve"), 0, "no temp dir");
    cr_assert_eq (e2e_group_curve (&s_group), 0, "checkout-keys init failed (%s)",
                  s_group.dir);
}

static void
s_fini (void)
{
    e2e_dbs_close (&s_dbs);
    e2e_book_fini (&s_book);
    e2e_group_fini (&s_group);
}

TestSuite (e2e_curve, .init = s_init, .fini = s_fini, .timeout = 120);

static void
s_start (void)
{
    cr_assert_geq (e2e_start_group (&s_group, NULL, READY_MS), 0,
                   "the group did not come up with CURVE (logs in %s)", s_group.dir);
}

//  A DEALER on the backend with name's key pair, kept by the group
static zsock_t *
s_peer (const char *name)
{
    ck_curve_keys_t keys;
    cr_assert_eq (e2e_load_keys (&s_group, name, &keys), 0, "no key pair %s", name);
    zsock_t *peer = zsock_new (ZMQ_DEALER);
    cr_assert_not_null (peer);
    ck_curve_client_apply (&keys, peer);
    cr_assert_eq (zsock_connect (peer, "%s", s_group.backend), 0);
    return e2e_keep (&s_group, peer);
}

//  Makes a key pair that no allow-list holds
static void
s_stranger (const char *name)
{
    char keys [PATH_MAX];
    snprintf (keys, sizeof keys, "%s/keys", s_group.dir);
    const char *args [] = { "new", keys, name, NULL };
    cr_assert_eq (e2e_keys (&s_group, args), 0);
}

static void
s_public_key (const char *name, char key [KEYRING_KEY_SIZE])
{
    char path [PATH_MAX], file [128];
    snprintf (file, sizeof file, "%s.key", name);
    e2e_key_path (&s_group, file, path, sizeof path);
    cr_assert_eq (keyring_public_key (path, key), 0);
}

//  W1 with every socket under CURVE: outcomes and stores as without it
Test (e2e_curve, w1_runs_with_curve)
{
    s_start ();
    ck_client_t *client = e2e_client (&s_group);
    cr_assert_not_null (client);
    cr_assert_eq (e2e_book_init (&s_book, 300), 0);
    cr_assert_eq (e2e_drive (client, &s_book, 64, 90000), 0,
                  "%zu of 300 RESULTs after 90 s", s_book.terminal);
    char problem [E2E_PROBLEM_SIZE];
    int problems = e2e_check_plan (&s_book, problem);
    cr_assert_eq (problems, 0, "%d problems; first: %s", problems, problem);
    cr_assert_eq (s_book.errors, 0);
    cr_assert_eq (e2e_dbs_open (&s_group, &s_dbs), 0);
    problems = e2e_check_stores (&s_dbs, &s_book, problem);
    cr_assert_eq (problems, 0, "%d problems; first: %s", problems, problem);
}

//  checkout-bench without keys against a coordinator under CURVE: its
//  handshake fails, nothing ever answers, and it says so after its first
//  checkouts time out instead of waiting a timeout for each wave of them
Test (e2e_curve, a_bench_without_keys_stops_and_says_why)
{
    s_start ();
    const char *args [] = { "--frontend", s_group.frontend, "--n", "400", "--c", "4",
                            "--timeout", "1000", NULL };
    int slot = e2e_spawn (&s_group, "bench", "checkout-bench", args);
    cr_assert_geq (slot, 0);
    cr_expect_eq (e2e_stop (&s_group, slot, 0, 20000), 1, "exit 1, well before 100 s");
    char path [PATH_MAX];
    e2e_path (&s_group, "bench.log", path, sizeof path);
    char *log = ph_slurp (path);
    cr_expect (log && strstr (log, "Under CURVE it needs --curve-secret and --curve-server"),
               "%s", log? log: "");
    cr_expect (log && strstr (log, "result        FAIL (no coordinator answered)"), "%s",
               log? log: "");
    free (log);
}

//  A key in no allow-list, or no key at all, does not get through the
//  handshake: no READY arrives, no request reaches it, no PING is answered
Test (e2e_curve, an_unknown_key_fails_the_handshake)
{
    s_start ();
    s_stranger ("stranger");
    zsock_t *stranger = s_peer ("stranger");
    zsock_set_sndtimeo (stranger, 0);   //  a peer whose handshake failed queues
    peer_send_ready (stranger, CK_SERVICE_PAYMENT, "payment-stranger", 4);

    //  a client with the stranger's key, and one without CURVE
    ck_curve_keys_t keys;
    cr_assert_eq (e2e_load_keys (&s_group, "stranger", &keys), 0);
    ck_client_t *unknown = ck_client_new_curve (s_group.frontend, &keys);
    ck_client_t *plain = ck_client_new (s_group.frontend);
    cr_assert (unknown && plain);
    cr_assert_eq (ck_client_ping (unknown, 1500), CK_CMD_NONE);
    cr_assert_eq (ck_client_ping (plain, 500), CK_CMD_NONE);
    ck_client_destroy (&unknown);
    ck_client_destroy (&plain);

    //  the payment step goes to payment-1 only; the stranger hears nothing
    ck_client_t *client = e2e_client (&s_group);
    ck_checkout_t checkout;
    w1_checkout (0, &checkout);
    cr_assert_eq (ck_client_send_checkout (client, &checkout), 0);
    cr_assert_eq (ck_client_recv (client, DONE_MS), CK_CMD_RESULT);
    cr_assert_eq (peer_next_command (stranger, 500), CK_CMD_NONE, "the stranger was answered");
    ck_ev_stats_t stats;
    cr_assert_eq (e2e_next_stats (&s_group, &stats, 5000), 0);
    cr_assert_eq (e2e_stats_workers (&stats, CK_SERVICE_PAYMENT), 1);
}

//  A key allowed on the backend, but for another service: READY as payment
//  with the order key is told DISCONNECT, gets no request, and is named in
//  a security.refused event
Test (e2e_curve, a_key_of_the_wrong_role_is_refused)
{
    s_start ();
    zsock_t *sub = e2e_keep (&s_group, e2e_sub (&s_group, "security."));
    cr_assert_not_null (sub);
    zclock_sleep (300);                 //  the subscription reaches the PUB
    zsock_t *impostor = s_peer ("order");
    zsock_set_sndtimeo (impostor, 0);
    peer_send_ready (impostor, CK_SERVICE_PAYMENT, "payment-impostor", 4);
    cr_assert_eq (peer_next_command (impostor, 3000), CK_CMD_DISCONNECT);

    zframe_t *body = NULL;
    cr_assert_eq (peer_next_event (sub, "security.refused", &body, 3000), 0, "no security.refused");
    ck_ev_security_t event;
    ck_decode_error_t err;
    cr_assert_eq (ck_decode_ev_security (zframe_data (body), zframe_size (body), &event,
                                         &err), 0, "%s", err.message);
    zframe_destroy (&body);
    char key [KEYRING_KEY_SIZE];
    s_public_key ("order", key);
    cr_assert_str_eq (event.key, key);
    cr_assert_str_eq (event.socket, "backend");
    cr_assert_str_eq (event.command, "READY");
    cr_assert_str_eq (event.role, "payment");
    cr_assert_str_eq (event.instance, "payment-impostor");

    ck_client_t *client = e2e_client (&s_group);
    ck_checkout_t checkout;
    w1_checkout (0, &checkout);
    cr_assert_eq (ck_client_send_checkout (client, &checkout), 0);
    cr_assert_eq (ck_client_recv (client, DONE_MS), CK_CMD_RESULT);
    ck_command_t heard;
    while ((heard = peer_next_command (impostor, 300)) != CK_CMD_NONE)
        cr_assert_neq (heard, CK_CMD_REQUEST, "the impostor was sent a request");

    //  on the frontend, an admin's key may not submit
    ck_curve_keys_t keys;
    cr_assert_eq (e2e_load_keys (&s_group, "admin", &keys), 0);
    ck_client_t *admin = ck_client_new_curve (s_group.frontend, &keys);
    cr_assert_not_null (admin);
    w1_checkout (1, &checkout);
    cr_assert_eq (ck_client_send_checkout (admin, &checkout), 0);
    cr_assert_eq (ck_client_recv (admin, 5000), CK_CMD_ERROR);
    cr_assert_eq (ck_client_reply (admin)->error.code, CK_FORBIDDEN);
    cr_assert_eq (ck_client_ping (admin, 5000), CK_CMD_PONG, "admin may PING");
    ck_list_t list = { .limit = 5 };
    cr_assert_eq (ck_client_list (admin, &list, 5000), CK_CMD_SAGAS, "admin may LIST");
    ck_client_destroy (&admin);
    //  and a client may not send the operator's commands
    cr_assert_eq (ck_client_list (client, &list, 5000), CK_CMD_ERROR);
    cr_assert_eq (ck_client_reply (client)->error.code, CK_FORBIDDEN);
}

//  Taking a key out of its allow-list cuts its participant off without a
//  restart: worker.lost, a security.refused naming it, and no way back in
Test (e2e_curve, revoking_a_key_disconnects_its_peer)
{
    s_start ();
    zsock_t *workers = e2e_keep (&s_group, e2e_sub (&s_group, "worker."));
    zsock_t *security = e2e_keep (&s_group, e2e_sub (&s_group, "security."));
    cr_assert (workers && security);
    zclock_sleep (300);
    char keys [PATH_MAX];
    snprintf (keys, sizeof keys, "%s/keys", s_group.dir);
    const char *args [] = { "revoke", keys, "payment", "payment", NULL };
    cr_assert_eq (e2e_keys (&s_group, args), 0);
    cr_assert_eq (peer_worker_event (workers, "worker.lost", "payment-1", 5000), 0,
                  "payment-1 was not cut off");
    zframe_t *body = NULL;
    cr_assert_eq (peer_next_event (security, "security.refused", &body, 3000), 0);
    ck_ev_security_t event;
    ck_decode_error_t err;
    cr_assert_eq (ck_decode_ev_security (zframe_data (body), zframe_size (body), &event,
                                         &err), 0);
    zframe_destroy (&body);
    char key [KEYRING_KEY_SIZE];
    s_public_key ("payment", key);
    cr_assert_str_eq (event.key, key);
    cr_assert_str_eq (event.instance, "payment-1");
    //  it reconnects at once, but its handshake fails now
    cr_assert_neq (peer_worker_event (workers, "worker.joined", "payment-1", 3000), 0,
                   "a revoked key got back in");
    int slot = e2e_slot (&s_group, "payment-1");
    cr_assert (e2e_running (&s_group, slot), "the participant should keep trying");
}

//  A monitor's key taken out of its allow-list ends its subscription: the
//  coordinator binds its events endpoint again and the key fails the new
//  handshake, while a monitor whose key holds gets its events back
Test (e2e_curve, revoking_a_monitor_key_ends_its_subscription)
{
    s_start ();
    char keys [PATH_MAX];
    snprintf (keys, sizeof keys, "%s/keys", s_group.dir);
    const char *grant [] = { "new", keys, "watcher", "monitor", NULL };
    cr_assert_eq (e2e_keys (&s_group, grant), 0);
    ck_curve_keys_t watcher_keys;
    cr_assert_eq (e2e_load_keys (&s_group, "watcher", &watcher_keys), 0);
    zsock_t *watcher = e2e_keep (&s_group, zsock_new (ZMQ_SUB));
    cr_assert_not_null (watcher);
    ck_curve_client_apply (&watcher_keys, watcher);
    zsock_set_subscribe (watcher, "stats");
    cr_assert_eq (zsock_connect (watcher, "%s", s_group.events), 0);
    zsock_t *monitor = e2e_keep (&s_group, e2e_sub (&s_group, "stats"));
    cr_assert_not_null (monitor);
    ck_ev_stats_t stats;
    cr_assert_eq (e2e_sub_next_stats (watcher, &stats, 10000), 0, "the new key gets nothing");

    const char *revoke [] = { "revoke", keys, "watcher", "monitor", NULL };
    cr_assert_eq (e2e_keys (&s_group, revoke), 0);
    //  a reload (every second) and the rebind; then what was queued drains
    zclock_sleep (3000);
    while (e2e_sub_next_stats (watcher, &stats, 200) == 0)
        ;
    cr_expect_neq (e2e_sub_next_stats (watcher, &stats, 4000), 0,
                   "a withdrawn monitor key still gets the events");
    cr_expect_eq (e2e_sub_next_stats (monitor, &stats, 4000), 0,
                  "the monitor key that holds lost its events");
}

//  Under CURVE the same key may replace its own old connection at once: a
//  participant restarted while its old process still holds an open, silent
//  connection gets its name back without waiting out the liveness
Test (e2e_curve, the_same_key_takes_its_name_back_at_once)
{
    s_group.liveness = 25;              //  5 s: long beside what we wait
    s_start ();
    zsock_t *workers = e2e_keep (&s_group, e2e_sub (&s_group, "worker."));
    cr_assert_not_null (workers);
    zclock_sleep (300);
    int slot = e2e_slot (&s_group, "payment-1");
    ph_signal (s_group.pids [slot], SIGSTOP);
    snprintf (s_group.names [slot], sizeof s_group.names [slot], "payment-1-stopped");
    int64_t started = ph_now_ms ();
    cr_assert_geq (e2e_start_participant (&s_group, "payment", "payment-1", NULL), 0);
    int rc = peer_worker_event (workers, "worker.joined", "payment-1", 10000);
    int64_t took = ph_now_ms () - started;
    ph_signal (s_group.pids [slot], SIGCONT);
    cr_assert_eq (rc, 0, "the restarted participant never joined");
    cr_assert_lt (took, 2500, "it waited %" PRId64 " ms, as for a stranger", took);
}

//  -------------------------------------------------------------------------
//  Hostile handshakes: raw bytes on the coordinator's ipc endpoints

//  A unix stream socket connected to an ipc:// endpoint, or -1
static int
s_raw_connect (const char *endpoint)
{
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    cr_assert_eq (strncmp (endpoint, "ipc://", 6), 0);
    snprintf (address.sun_path, sizeof address.sun_path, "%s", endpoint + 6);
    int fd = socket (AF_UNIX, SOCK_STREAM, 0);
    if (fd >= 0 && connect (fd, (struct sockaddr *) &address, sizeof address)) {
        close (fd);
        fd = -1;
    }
    return fd;
}

//  A ZMTP 3.0 greeting for mechanism, as a client
static void
s_greeting (uint8_t greeting [64], const char *mechanism)
{
    memset (greeting, 0, 64);
    greeting [0] = 0xFF;
    greeting [9] = 0x7F;
    greeting [10] = 3;                  //  version 3.0
    memcpy (greeting + 12, mechanism, strlen (mechanism));
}

//  Sends bytes, then reads what comes back for a moment and closes
static void
s_raw_send (const char *endpoint, const void *bytes, size_t size)
{
    int fd = s_raw_connect (endpoint);
    cr_assert_geq (fd, 0, "cannot reach %s", endpoint);
    struct timeval wait = { .tv_sec = 0, .tv_usec = 100000 };
    setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    ssize_t sent = send (fd, bytes, size, MSG_NOSIGNAL);
    (void) sent;                        //  the peer may have closed already
    char sink [512];
    while (recv (fd, sink, sizeof sink, 0) > 0)
        ;
    close (fd);
}

//  Garbage, other mechanisms, HELLOs of the wrong size or with a box that
//  does not open, and a message before any handshake, on every socket: the
//  coordinator stays up, serves, and no such peer ever gets a request
Test (e2e_curve, malformed_handshakes_change_nothing)
{
    s_start ();
    uint8_t buffer [64 + 2 + 200];
    uint8_t *greeting = buffer;
    const char *endpoints [] = { s_group.frontend, s_group.backend, s_group.events };
    for (size_t round = 0; round < 20; round++)
    for (size_t e = 0; e < 3; e++) {
        const char *endpoint = endpoints [e];
        //  not ZMTP at all
        s_raw_send (endpoint, "GET / HTTP/1.0\r\n\r\n", 18);
        //  a greeting for a mechanism the server does not take
        s_greeting (greeting, "PLAIN");
        s_raw_send (endpoint, greeting, 64);
        s_greeting (greeting, "NULL");
        s_raw_send (endpoint, greeting, 64);
        //  CURVE, then a HELLO of the wrong size
        s_greeting (greeting, "CURVE");
        memcpy (buffer + 64, "\x04\x0a\x05HELLO\x01\x00\x00\x00", 12);
        s_raw_send (endpoint, buffer, 76);
        //  CURVE, then a HELLO of the right size whose box does not open
        buffer [64] = 0x04;
        buffer [65] = 200;
        for (size_t i = 0; i < 200; i++)
            buffer [66 + i] = (uint8_t) (i * 7 + round);
        memcpy (buffer + 66, "\x05HELLO\x01\x00", 8);
        s_raw_send (endpoint, buffer, sizeof buffer);
        //  CURVE, then a message frame where the HELLO should be
        buffer [64] = 0x00;
        buffer [65] = 4;
        memcpy (buffer + 66, "CKC1", 4);
        s_raw_send (endpoint, buffer, 70);
        //  a greeting cut short
        s_greeting (greeting, "CURVE");
        s_raw_send (endpoint, greeting, 30);
    }
    //  still there, and still serving with keys
    for (int i = 0; i < E2E_MAX_PROCS; i++) {
        int status;
        if (s_group.pids [i] > 0)
            cr_assert_eq (waitpid (s_group.pids [i], &status, WNOHANG), 0,
                          "%s ended (logs in %s)", s_group.names [i], s_group.dir);
    }
    ck_client_t *client = e2e_client (&s_group);
    ck_checkout_t checkout;
    w1_checkout (0, &checkout);
    cr_assert_eq (ck_client_send_checkout (client, &checkout), 0);
    cr_assert_eq (ck_client_recv (client, DONE_MS), CK_CMD_RESULT,
                  "no RESULT after the hostile handshakes (logs in %s)", s_group.dir);
    ck_ev_stats_t stats;
    cr_assert_eq (e2e_next_stats (&s_group, &stats, 5000), 0);
    cr_assert_eq (e2e_stats_workers (&stats, CK_SERVICE_PAYMENT), 1);
}
