/*  e2e_helpers.h - the whole system as real processes, for end-to-end tests
    Start a coordinator and participants, wait until they serve, drive W1, check the stores.

    Header-only (static inline) like process_helpers.h, which it builds on.
    A test keeps one e2e_group_t; e2e_group_fini kills every process the
    group started (by PID), destroys every socket and client it made and
    removes its temp dir, so a test calls it from its .fini and cleans up
    even after a failed assertion.  Set CK_E2E_KEEP=1 to keep the dir (the
    processes' logs and databases) for a post-mortem.

    Nothing here asserts: helpers return 0 / -1 (or a count of problems
    with the first one described), and the tests assert on that.
*/
#ifndef CK_E2E_HELPERS_H_INCLUDED
#define CK_E2E_HELPERS_H_INCLUDED

#include <czmq.h>
#include <limits.h>
#include <stdarg.h>
#include <sqlite3.h>
#include "checkout/client.h"
#include "checkout/codec.h"
#include "checkout/curve.h"
#include "frame.h"
#include "process_helpers.h"
#include "checkout/protocol.h"
#include "stats_helpers.h"
#include "w1.h"

#define E2E_MAX_PROCS       8
#define E2E_MAX_ARGS        40
#define E2E_MAX_CLIENTS     4
#define E2E_MAX_SOCKS       8
#define E2E_PROBLEM_SIZE    512

//  One group of processes and everything a test made around it
typedef struct {
    char dir [64];                      //  /tmp/<prefix>-XXXXXX
    char bin [PATH_MAX];                //  the executables
    char seed [PATH_MAX];               //  the W1 catalog
    char frontend [128], backend [128], events [128];
    int heartbeat_ms;                   //  given to every process; default 200
    int liveness;                       //  default 5
    const char *coordinator_db;         //  NULL: <dir>/coordinator.db
    pid_t pids [E2E_MAX_PROCS];
    char names [E2E_MAX_PROCS][32];     //  log file stem, by slot
    ck_client_t *clients [E2E_MAX_CLIENTS];
    zsock_t *socks [E2E_MAX_SOCKS];
    zsock_t *stats;                     //  SUB to "stats"
    bool curve;                         //  e2e_group_curve: keys in <dir>/keys
    ck_curve_keys_t client_keys;        //  the "client" key, for e2e_client
    ck_curve_keys_t monitor_keys;       //  the "monitor" key, for e2e_sub
} e2e_group_t;

//  -------------------------------------------------------------------------
//  Paths

//  Fills out with <group dir>/<name>.  Can't fail (truncates).
static inline void
e2e_path (const e2e_group_t *g, const char *name, char *out, size_t size)
{
    snprintf (out, size, "%s/%s", g->dir, name);
}

//  Prepares an empty group in a fresh temp dir with ipc endpoints in it.
//  Returns 0, or -1 when the dir can't be made or the executables or the
//  W1 catalog can't be found.
static inline int
e2e_group_init (e2e_group_t *g, const char *prefix)
{
    memset (g, 0, sizeof *g);
    if (ph_mkdtemp (prefix, g->dir, sizeof g->dir)
    ||  ph_bin_dir (g->bin, sizeof g->bin)
    ||  ph_w1_seed (g->seed, sizeof g->seed))
        return -1;
    snprintf (g->frontend, sizeof g->frontend, "ipc://%s/fe", g->dir);
    snprintf (g->backend, sizeof g->backend, "ipc://%s/be", g->dir);
    snprintf (g->events, sizeof g->events, "ipc://%s/ev", g->dir);
    g->heartbeat_ms = 200;
    g->liveness = 5;
    return 0;
}

//  Kills every process (SIGKILL, by PID), destroys every socket and client,
//  removes the dir unless CK_E2E_KEEP is set.  Safe to call twice.
static inline void
e2e_group_fini (e2e_group_t *g)
{
    for (int i = 0; i < E2E_MAX_PROCS; i++)
        ph_kill_reap (&g->pids [i]);
    for (int i = 0; i < E2E_MAX_CLIENTS; i++)
        ck_client_destroy (&g->clients [i]);
    for (int i = 0; i < E2E_MAX_SOCKS; i++)
        zsock_destroy (&g->socks [i]);
    zsock_destroy (&g->stats);
    const char *keep = getenv ("CK_E2E_KEEP");
    if (g->dir [0] && !(keep && *keep && strcmp (keep, "0")))
        ph_rmrf (g->dir);
    else
    if (g->dir [0])
        fprintf (stderr, "e2e: kept %s\n", g->dir);
    g->dir [0] = 0;
}

//  Runs checkout-keys with the arguments (NULL-terminated), output in
//  <dir>/keys.log.  Returns its exit code, or -1.
static inline int
e2e_keys (e2e_group_t *g, const char *const *args)
{
    char program [PATH_MAX + 32], command [4096], log [PATH_MAX];
    snprintf (program, sizeof program, "%s/checkout-keys", g->bin);
    e2e_path (g, "keys.log", log, sizeof log);
    int used = snprintf (command, sizeof command, "'%s'", program);
    for (int i = 0; args [i] && used < (int) sizeof command; i++)
        used += snprintf (command + used, sizeof command - (size_t) used, " '%s'", args [i]);
    if (used >= (int) sizeof command - 64)
        return -1;
    snprintf (command + used, sizeof command - (size_t) used, " >>'%s' 2>&1", log);
    int status = system (command);
    return WIFEXITED (status)? WEXITSTATUS (status): -1;
}

//  Fills path with <dir>/keys/<file>.  Can't fail (truncates).
static inline void
e2e_key_path (const e2e_group_t *g, const char *file, char *path, size_t size)
{
    snprintf (path, size, "%s/keys/%s", g->dir, file);
}

//  Loads name's key pair (checkout-keys made) as a client of the
//  coordinator.  Returns 0, or -1.
static inline int
e2e_load_keys (const e2e_group_t *g, const char *name, ck_curve_keys_t *keys)
{
    char secret [PATH_MAX], server [PATH_MAX], file [128], error [512];
    snprintf (file, sizeof file, "%s.key_secret", name);
    e2e_key_path (g, file, secret, sizeof secret);
    e2e_key_path (g, "coordinator.key", server, sizeof server);
    return ck_curve_keys_load (keys, secret, server, error, sizeof error);
}

//  Turns CURVE on for the group: checkout-keys init in <dir>/keys; every
//  process, client and SUB the helpers make from now on uses its keys.
//  Returns 0, or -1.
static inline int
e2e_group_curve (e2e_group_t *g)
{
    char keys [PATH_MAX];
    snprintf (keys, sizeof keys, "%s/keys", g->dir);
    const char *args [] = { "init", keys, NULL };
    if (e2e_keys (g, args)
    ||  e2e_load_keys (g, "client", &g->client_keys)
    ||  e2e_load_keys (g, "monitor", &g->monitor_keys))
        return -1;
    g->curve = true;
    return 0;
}

//  A SUB to the group's events for topics starting with prefix, with the
//  monitor's key under CURVE; kept by the group.  Returns it, or NULL.
static inline zsock_t *
e2e_sub (e2e_group_t *g, const char *prefix)
{
    zsock_t *sub = zsock_new (ZMQ_SUB);
    if (!sub)
        return NULL;
    ck_curve_client_apply (g->curve? &g->monitor_keys: NULL, sub);
    zsock_set_subscribe (sub, prefix);
    if (zsock_connect (sub, "%s", g->events)) {
        zsock_destroy (&sub);
        return NULL;
    }
    return sub;
}

//  -------------------------------------------------------------------------
//  Processes

//  Starts <bin>/program with args (NULL-terminated) and its output in
//  <dir>/<name>.log.  Returns the process's slot, or -1.
static inline int
e2e_spawn (e2e_group_t *g, const char *name, const char *program, const char *const *args)
{
    int slot = 0;
    while (slot < E2E_MAX_PROCS && g->pids [slot] > 0)
        slot++;
    if (slot == E2E_MAX_PROCS)
        return -1;
    char exe [PATH_MAX + 64], log [PATH_MAX];
    snprintf (exe, sizeof exe, "%s/%s", g->bin, program);
    char stem [48];
    snprintf (stem, sizeof stem, "%s.log", name);
    e2e_path (g, stem, log, sizeof log);
    const char *argv [E2E_MAX_ARGS];
    int argc = 0;
    argv [argc++] = exe;
    for (; args && *args && argc < E2E_MAX_ARGS - 1; args++)
        argv [argc++] = *args;
    argv [argc] = NULL;
    pid_t pid = ph_spawn (exe, (char *const *) argv, log);
    if (pid <= 0)
        return -1;
    g->pids [slot] = pid;
    snprintf (g->names [slot], sizeof g->names [slot], "%s", name);
    return slot;
}

//  Appends extra (NULL-terminated, may be NULL) to args at *argc.
static inline void
e2e_args_append (const char **args, int *argc, const char *const *extra)
{
    for (; extra && *extra && *argc < E2E_MAX_ARGS - 2; extra++)
        args [(*argc)++] = *extra;
    args [*argc] = NULL;
}

//  Starts checkout-coordinator on the group's endpoints and
//  <dir>/coordinator.db, with extra flags (may be NULL).  Returns its slot,
//  or -1.  A restart on the same db is the same call again.
static inline int
e2e_start_coordinator (e2e_group_t *g, const char *const *extra)
{
    char db [PATH_MAX], heartbeat [16], liveness [16];
    e2e_path (g, "coordinator.db", db, sizeof db);
    if (g->coordinator_db)
        snprintf (db, sizeof db, "%s", g->coordinator_db);
    snprintf (heartbeat, sizeof heartbeat, "%d", g->heartbeat_ms);
    snprintf (liveness, sizeof liveness, "%d", g->liveness);
    const char *args [E2E_MAX_ARGS] = {
        "--frontend", g->frontend, "--backend", g->backend, "--events", g->events,
        "--db", db, "--heartbeat-ms", heartbeat, "--liveness", liveness
    };
    int argc = 12;
    char secret [PATH_MAX], allow [PATH_MAX];
    if (g->curve) {
        e2e_key_path (g, "coordinator.key_secret", secret, sizeof secret);
        e2e_key_path (g, "allow", allow, sizeof allow);
        const char *curve [] = { "--curve-secret", secret, "--curve-allow", allow, NULL };
        e2e_args_append (args, &argc, curve);
    }
    e2e_args_append (args, &argc, extra);
    return e2e_spawn (g, "coordinator", "checkout-coordinator", args);
}

//  Starts checkout-<service> as instance, on <dir>/<service>.db (shared by
//  the instances of a service), inventory seeded with W1's catalog, with
//  extra flags (may be NULL).  Returns its slot, or -1.
static inline int
e2e_start_participant (e2e_group_t *g, const char *service, const char *instance,
                       const char *const *extra)
{
    char program [64], db_name [64], db [PATH_MAX], heartbeat [16], liveness [16];
    snprintf (program, sizeof program, "checkout-%s", service);
    snprintf (db_name, sizeof db_name, "%s.db", service);
    e2e_path (g, db_name, db, sizeof db);
    snprintf (heartbeat, sizeof heartbeat, "%d", g->heartbeat_ms);
    snprintf (liveness, sizeof liveness, "%d", g->liveness);
    const char *args [E2E_MAX_ARGS] = {
        "--coordinator", g->backend, "--db", db, "--instance", instance,
        "--heartbeat-ms", heartbeat, "--liveness", liveness
    };
    int argc = 10;
    if (streq (service, "inventory")) {
        args [argc++] = "--seed";
        args [argc++] = g->seed;
    }
    //  the service's own key, unless extra names one
    bool keyed = false;
    for (int i = 0; extra && extra [i]; i++)
        keyed = keyed || streq (extra [i], "--curve-secret");
    char secret [PATH_MAX], server [PATH_MAX], file [128];
    if (g->curve && !keyed) {
        snprintf (file, sizeof file, "%s.key_secret", service);
        e2e_key_path (g, file, secret, sizeof secret);
        e2e_key_path (g, "coordinator.key", server, sizeof server);
        const char *curve [] = { "--curve-secret", secret, "--curve-server", server, NULL };
        e2e_args_append (args, &argc, curve);
    }
    e2e_args_append (args, &argc, extra);
    return e2e_spawn (g, instance, program, args);
}

//  Sends sig to the process in slot and waits up to timeout_ms for it to
//  exit.  Returns its exit code (-1 when killed by a signal), or -2 when it
//  is still running (it is then SIGKILLed and reaped).
static inline int
e2e_stop (e2e_group_t *g, int slot, int sig, int timeout_ms)
{
    if (slot < 0 || slot >= E2E_MAX_PROCS || g->pids [slot] <= 0)
        return -2;
    int status = 0;
    ph_signal (g->pids [slot], sig);
    if (ph_wait (g->pids [slot], timeout_ms, &status)) {
        ph_kill_reap (&g->pids [slot]);
        return -2;
    }
    g->pids [slot] = 0;
    return ph_exit_code (status);
}

//  The slot of the running process started as name ("payment-1"), or -1
static inline int
e2e_slot (const e2e_group_t *g, const char *name)
{
    for (int slot = 0; slot < E2E_MAX_PROCS; slot++)
        if (g->pids [slot] > 0 && streq (g->names [slot], name))
            return slot;
    return -1;
}

//  True while the process in slot runs (reaps it if it has exited).
static inline bool
e2e_running (e2e_group_t *g, int slot)
{
    if (slot < 0 || slot >= E2E_MAX_PROCS || g->pids [slot] <= 0)
        return false;
    if (waitpid (g->pids [slot], NULL, WNOHANG) == g->pids [slot]) {
        g->pids [slot] = 0;
        return false;
    }
    return true;
}

//  -------------------------------------------------------------------------
//  Sockets

//  A new client on the group's frontend, destroyed by e2e_group_fini.
//  Returns it (borrowed), or NULL.
static inline ck_client_t *
e2e_client (e2e_group_t *g)
{
    for (int i = 0; i < E2E_MAX_CLIENTS; i++)
        if (!g->clients [i])
            return g->clients [i] = ck_client_new_curve (g->frontend,
                g->curve? &g->client_keys: NULL);
    return NULL;
}

//  Registers sock so that e2e_group_fini destroys it; returns sock, or
//  NULL (sock destroyed) when the table is full.
static inline zsock_t *
e2e_keep (e2e_group_t *g, zsock_t *sock)
{
    for (int i = 0; sock && i < E2E_MAX_SOCKS; i++)
        if (!g->socks [i])
            return g->socks [i] = sock;
    zsock_destroy (&sock);
    return NULL;
}

//  As e2e_sub_next_stats, on the group's SUB, made on first use
static inline int
e2e_next_stats (e2e_group_t *g, ck_ev_stats_t *stats, int timeout_ms)
{
    if (!g->stats && !(g->stats = e2e_sub (g, "stats")))
        return -1;
    return e2e_sub_next_stats (g->stats, stats, timeout_ms);
}

//  Waits up to timeout_ms until the coordinator answers PING and its stats
//  show exactly the given numbers of live instances.  Returns 0, or -1.
static inline int
e2e_wait_ready (e2e_group_t *g, int inventory, int payment, int order, int timeout_ms)
{
    int64_t deadline = ph_now_ms () + timeout_ms;
    ck_client_t *client = ck_client_new_curve (g->frontend,
        g->curve? &g->client_keys: NULL);
    if (!client)
        return -1;
    bool pong = false;
    while (!pong && ph_now_ms () < deadline)
        pong = ck_client_ping (client, 250) == CK_CMD_PONG;
    ck_client_destroy (&client);
    ck_ev_stats_t stats;
    while (pong && ph_now_ms () < deadline) {
        if (e2e_next_stats (g, &stats, (int) (deadline - ph_now_ms ())))
            break;
        if (e2e_stats_workers (&stats, CK_SERVICE_INVENTORY) == inventory
        &&  e2e_stats_workers (&stats, CK_SERVICE_PAYMENT) == payment
        &&  e2e_stats_workers (&stats, CK_SERVICE_ORDER) == order)
            return 0;
    }
    return -1;
}

//  Starts a coordinator and one instance of each participant, with extra
//  flags for the coordinator and for payment (either may be NULL), and
//  waits until they serve.  Returns the coordinator's slot, or -1.
static inline int
e2e_start_group_with (e2e_group_t *g, const char *const *extra,
                      const char *const *payment_extra, int timeout_ms)
{
    int slot = e2e_start_coordinator (g, extra);
    if (slot < 0
    ||  e2e_start_participant (g, "inventory", "inventory-1", NULL) < 0
    ||  e2e_start_participant (g, "payment", "payment-1", payment_extra) < 0
    ||  e2e_start_participant (g, "order", "order-1", NULL) < 0
    ||  e2e_wait_ready (g, 1, 1, 1, timeout_ms))
        return -1;
    return slot;
}

//  As e2e_start_group_with, with no flags for payment
static inline int
e2e_start_group (e2e_group_t *g, const char *const *extra, int timeout_ms)
{
    return e2e_start_group_with (g, extra, NULL, timeout_ms);
}

//  -------------------------------------------------------------------------
//  W1 checkouts and what came back

//  What one checkout got back
typedef struct {
    uint32_t results;                   //  RESULTs received
    uint32_t accepted;                  //  ACCEPTEDs received
    ck_result_t result;                 //  the first terminal RESULT
    bool terminal;                      //  result holds a terminal RESULT
    bool inconsistent;                  //  a later RESULT or ACCEPTED disagreed
    char saga_id [CK_ID_SIZE];          //  from the first ACCEPTED or RESULT
    ck_error_code_t error;              //  last ERROR, CK_OK if none
} e2e_outcome_t;

//  W1 checkouts k = 0..count-1 and their outcomes
typedef struct {
    e2e_outcome_t *items;
    size_t count;
    size_t terminal;                    //  checkouts with a terminal RESULT
    size_t accepted;                    //  checkouts with an ACCEPTED
    size_t errors;                      //  ERRORs received
    size_t strays;                      //  replies about no checkout of ours
} e2e_book_t;

//  Makes a book of count checkouts.  Returns 0, or -1 out of memory.
static inline int
e2e_book_init (e2e_book_t *book, size_t count)
{
    memset (book, 0, sizeof *book);
    book->items = (e2e_outcome_t *) calloc (count, sizeof (e2e_outcome_t));
    book->count = count;
    return book->items? 0: -1;
}

//  Frees the book; safe twice.
static inline void
e2e_book_fini (e2e_book_t *book)
{
    free (book->items);
    memset (book, 0, sizeof *book);
}

//  The k of "chk-<k>" within the book, or -1.
static inline long
e2e_book_index (const e2e_book_t *book, const char *checkout_id)
{
    if (strncmp (checkout_id, "chk-", 4) || !checkout_id [4])
        return -1;
    char *end = NULL;
    unsigned long k = strtoul (checkout_id + 4, &end, 10);
    return *end || k >= book->count? -1: (long) k;
}

//  Notes a saga id seen for an outcome; a different one is inconsistent
static inline void
e2e_outcome_saga (e2e_outcome_t *item, const char *saga_id)
{
    if (!item->saga_id [0])
        snprintf (item->saga_id, sizeof item->saga_id, "%s", saga_id);
    else
    if (strcmp (item->saga_id, saga_id))
        item->inconsistent = true;
}

static inline void
e2e_outcome_result (e2e_book_t *book, e2e_outcome_t *item, const ck_result_t *result)
{
    item->results++;
    e2e_outcome_saga (item, result->saga_id);
    bool terminal = result->status == CK_STATUS_CONFIRMED || result->status == CK_STATUS_FAILED;
    if (!terminal)
        return;
    if (!item->terminal) {
        item->result = *result;
        item->terminal = true;
        book->terminal++;
    }
    else
    if (item->result.status != result->status
    ||  strcmp (item->result.order_id, result->order_id))
        item->inconsistent = true;
}

//  Files one reply into the book.  Returns the checkout's k when the reply
//  was the first terminal RESULT of it, else -1.
static inline long
e2e_book_record (e2e_book_t *book, const ck_client_reply_t *reply)
{
    const char *checkout_id = reply->command == CK_CMD_RESULT? reply->result.checkout_id
                            : reply->command == CK_CMD_ACCEPTED? reply->accepted.checkout_id
                            : reply->command == CK_CMD_ERROR? reply->error.checkout_id: "";
    if (reply->command == CK_CMD_ERROR)
        book->errors++;
    long k = e2e_book_index (book, checkout_id);
    if (k < 0) {
        if (reply->command != CK_CMD_PONG)
            book->strays++;
        return -1;
    }
    e2e_outcome_t *item = &book->items [k];
    if (reply->command == CK_CMD_ACCEPTED) {
        if (item->accepted++ == 0)
            book->accepted++;
        e2e_outcome_saga (item, reply->accepted.saga_id);
    }
    else
    if (reply->command == CK_CMD_ERROR)
        item->error = reply->error.code;
    else {
        bool was = item->terminal;
        e2e_outcome_result (book, item, &reply->result);
        if (!was && item->terminal)
            return k;
    }
    return -1;
}

//  Queues W1 checkouts first..first+count-1 (ack as given).  Returns how
//  many were queued.
static inline size_t
e2e_send_range (ck_client_t *client, uint64_t first, size_t count, bool ack)
{
    ck_checkout_t *checkout = (ck_checkout_t *) malloc (sizeof (ck_checkout_t));
    size_t sent = 0;
    for (size_t i = 0; checkout && i < count; i++) {
        w1_checkout (first + i, checkout);
        checkout->ack = ack;
        if (ck_client_send_checkout (client, checkout) == 0)
            sent++;
    }
    free (checkout);
    return sent;
}

//  Receives into the book until done (book) is true or timeout_ms passes.
//  Returns 0 when done, -1 on timeout.
static inline int
e2e_book_wait (ck_client_t *client, e2e_book_t *book,
               bool (*done) (const e2e_book_t *book), int timeout_ms)
{
    int64_t deadline = ph_now_ms () + timeout_ms;
    while (!done (book)) {
        int64_t left = deadline - ph_now_ms ();
        if (left <= 0)
            return -1;
        if (ck_client_recv (client, (int) left) != CK_CMD_NONE)
            e2e_book_record (book, ck_client_reply (client));
    }
    return 0;
}

static inline bool
e2e_all_terminal (const e2e_book_t *book)
{
    return book->terminal == book->count;
}

static inline bool
e2e_all_accepted (const e2e_book_t *book)
{
    return book->accepted == book->count;
}

//  Runs W1 checkouts 0..book->count-1 closed loop, in_flight at a time,
//  until each has a terminal RESULT.  Returns 0, or -1 on timeout.
static inline int
e2e_drive (ck_client_t *client, e2e_book_t *book, size_t in_flight, int timeout_ms)
{
    int64_t deadline = ph_now_ms () + timeout_ms;
    size_t next = 0, running = 0;
    while (book->terminal < book->count) {
        while (running < in_flight && next < book->count) {
            if (e2e_send_range (client, next, 1, false) != 1)
                return -1;
            next++;
            running++;
        }
        int64_t left = deadline - ph_now_ms ();
        if (left <= 0)
            return -1;
        if (ck_client_recv (client, (int) left) != CK_CMD_NONE
        &&  e2e_book_record (book, ck_client_reply (client)) >= 0)
            running--;
    }
    return 0;
}

//  Appends one problem to a count and keeps the first one's text
static inline void
e2e_problem (int *count, char *first, const char *format, ...)
{
    if ((*count)++ == 0) {
        va_list args;
        va_start (args, format);
        vsnprintf (first, E2E_PROBLEM_SIZE, format, args);
        va_end (args);
    }
}

//  Compares every checkout's RESULT with W1's plan (status, failed step,
//  reason code, compensated steps in order) and its consistency.  Returns
//  the number of problems; the first is described in first
//  (E2E_PROBLEM_SIZE bytes).
static inline int
e2e_check_plan (const e2e_book_t *book, char *first)
{
    int problems = 0;
    first [0] = 0;
    for (size_t k = 0; k < book->count; k++) {
        const e2e_outcome_t *item = &book->items [k];
        const ck_result_t *r = &item->result;
        w1_expected_t want = w1_expected (k);
        if (!item->terminal) {
            e2e_problem (&problems, first, "chk-%zu: no terminal RESULT", k);
            continue;
        }
        if (item->inconsistent)
            e2e_problem (&problems, first, "chk-%zu: replies disagree", k);
        if (r->status != want.status || r->failed_step != want.failed_step)
            e2e_problem (&problems, first, "chk-%zu: status=%s failed_step=%s, want %s %s", k,
                         ck_status_name (r->status), ck_service_name (r->failed_step),
                         ck_status_name (want.status), ck_service_name (want.failed_step));
        else
        if (want.reason && strcmp (r->reason.code, want.reason))
            e2e_problem (&problems, first, "chk-%zu: reason=%s, want %s", k, r->reason.code,
                         want.reason);
        else
        if (r->compensated_count != want.compensated_count
        ||  (want.compensated_count > 0 && r->compensated [0] != want.compensated [0])
        ||  (want.compensated_count > 1 && r->compensated [1] != want.compensated [1]))
            e2e_problem (&problems, first, "chk-%zu: %u steps compensated, want %u", k,
                         r->compensated_count, want.compensated_count);
        else
        if (want.status == CK_STATUS_CONFIRMED && !r->order_id [0])
            e2e_problem (&problems, first, "chk-%zu: confirmed without order_id", k);
    }
    return problems;
}

//  -------------------------------------------------------------------------
//  The participants' stores, read with sqlite3

//  The group's databases, open read-only
typedef struct {
    sqlite3 *inventory, *payment, *order, *coordinator;
} e2e_dbs_t;

static inline sqlite3 *
e2e_db_open (const e2e_group_t *g, const char *name)
{
    char path [PATH_MAX];
    e2e_path (g, name, path, sizeof path);
    sqlite3 *db = NULL;
    if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close (db);
        return NULL;
    }
    sqlite3_busy_timeout (db, 5000);
    return db;
}

//  Opens the four databases read-only.  Returns 0, or -1 (then call
//  e2e_dbs_close all the same).
static inline int
e2e_dbs_open (const e2e_group_t *g, e2e_dbs_t *dbs)
{
    dbs->inventory = e2e_db_open (g, "inventory.db");
    dbs->payment = e2e_db_open (g, "payment.db");
    dbs->order = e2e_db_open (g, "order.db");
    dbs->coordinator = e2e_db_open (g, "coordinator.db");
    return dbs->inventory && dbs->payment && dbs->order && dbs->coordinator? 0: -1;
}

//  Closes what e2e_dbs_open opened.  Safe twice.
static inline void
e2e_dbs_close (e2e_dbs_t *dbs)
{
    sqlite3_close (dbs->inventory);
    sqlite3_close (dbs->payment);
    sqlite3_close (dbs->order);
    sqlite3_close (dbs->coordinator);
    memset (dbs, 0, sizeof *dbs);
}

//  Runs sql with text parameter ?1 (may be NULL) and returns the first
//  column of the first row as an integer (0 when no row), or -1 on error.
static inline long long
e2e_db_int (sqlite3 *db, const char *sql, const char *param)
{
    sqlite3_stmt *stmt = NULL;
    if (!db || sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return -1;
    if (param)
        sqlite3_bind_text (stmt, 1, param, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step (stmt);
    long long value = rc == SQLITE_ROW? sqlite3_column_int64 (stmt, 0): rc == SQLITE_DONE? 0: -1;
    sqlite3_finalize (stmt);
    return value;
}

//  Copies the first column of the first row of sql (text parameter ?1)
//  into out, "" when no row or NULL.  Returns 0, or -1 on error.
static inline int
e2e_db_text (sqlite3 *db, const char *sql, const char *param, char *out, size_t size)
{
    sqlite3_stmt *stmt = NULL;
    out [0] = 0;
    if (!db || sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text (stmt, 1, param, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step (stmt);
    if (rc == SQLITE_ROW && sqlite3_column_text (stmt, 0))
        snprintf (out, size, "%s", (const char *) sqlite3_column_text (stmt, 0));
    sqlite3_finalize (stmt);
    return rc == SQLITE_ROW || rc == SQLITE_DONE? 0: -1;
}

//  Checks one saga's effects against its RESULT (see e2e_check_stores)
static inline void
e2e_check_saga (e2e_dbs_t *dbs, size_t k, const e2e_outcome_t *item, int *problems, char *first)
{
    const char *saga = item->result.saga_id;
    char reservation [16], authorization [16], order_id [CK_ID_SIZE];
    long long amount = e2e_db_int (dbs->payment,
        "SELECT amount FROM authorizations WHERE saga_id = ?1", saga);
    e2e_db_text (dbs->inventory, "SELECT status FROM reservations WHERE saga_id = ?1", saga,
                 reservation, sizeof reservation);
    e2e_db_text (dbs->payment, "SELECT status FROM authorizations WHERE saga_id = ?1", saga,
                 authorization, sizeof authorization);
    e2e_db_text (dbs->order, "SELECT order_id FROM orders WHERE saga_id = ?1", saga,
                 order_id, sizeof order_id);
    if (item->result.status == CK_STATUS_CONFIRMED) {
        ck_checkout_t *checkout = (ck_checkout_t *) malloc (sizeof (ck_checkout_t));
        w1_checkout (k, checkout);
        if (strcmp (reservation, "held") || strcmp (authorization, "authorized")
        ||  strcmp (order_id, item->result.order_id) || amount != (long long) checkout->amount)
            e2e_problem (problems, first, "chk-%zu confirmed: reservation='%s' authorization="
                         "'%s' amount=%lld (want %llu) order='%s' (RESULT says '%s')", k,
                         reservation, authorization, amount,
                         (unsigned long long) checkout->amount, order_id, item->result.order_id);
        free (checkout);
    }
    else
    if (streq (reservation, "held") || streq (authorization, "authorized") || order_id [0])
        e2e_problem (problems, first, "chk-%zu failed: reservation='%s' authorization='%s' "
                     "order='%s'", k, reservation, authorization, order_id);
}

//  Checks the stores against the book's RESULTs: a confirmed checkout has
//  a held reservation, an authorization of its amount and the order of its
//  RESULT; a failed one has no held reservation, no live authorization and
//  no order; every SKU's stock plus its held units is its initial stock;
//  the totals of held reservations, authorizations and orders equal the
//  number confirmed (the stores hold this book's checkouts only).  Returns
//  the number of problems, the first described in first.
static inline int
e2e_check_stores (e2e_dbs_t *dbs, const e2e_book_t *book, char *first)
{
    int problems = 0;
    long long confirmed = 0;
    first [0] = 0;
    for (size_t k = 0; k < book->count; k++)
        if (book->items [k].terminal) {
            confirmed += book->items [k].result.status == CK_STATUS_CONFIRMED;
            e2e_check_saga (dbs, k, &book->items [k], &problems, first);
        }
    long long unbalanced = e2e_db_int (dbs->inventory,
        "SELECT COUNT(*) FROM stock s LEFT JOIN (SELECT j.value ->> 0 AS sku,"
        " SUM (j.value ->> 1) AS qty FROM reservations r, json_each (r.lines) j"
        " WHERE r.status = 'held' GROUP BY 1) h ON h.sku = s.sku"
        " WHERE s.available + COALESCE (h.qty, 0)"
        " != CASE s.sku WHEN 'SKU-OOS' THEN 0 ELSE 1000000 END", NULL);
    if (unbalanced != 0)
        e2e_problem (&problems, first, "stock: %lld SKUs do not add up", unbalanced);
    long long held = e2e_db_int (dbs->inventory,
        "SELECT COUNT(*) FROM reservations WHERE status = 'held'", NULL);
    long long authorized = e2e_db_int (dbs->payment,
        "SELECT COUNT(*) FROM authorizations WHERE status = 'authorized'", NULL);
    long long orders = e2e_db_int (dbs->order, "SELECT COUNT(*) FROM orders", NULL);
    if (held != confirmed || authorized != confirmed || orders != confirmed)
        e2e_problem (&problems, first, "totals: held=%lld authorized=%lld orders=%lld, "
                     "confirmed=%lld", held, authorized, orders, confirmed);
    return problems;
}

#endif
