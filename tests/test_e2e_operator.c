/*  test_e2e_operator.c - the operator's commands end to end, through the CLI
    list (paged), describe, retry of a stuck saga, cancel before and after the pivot.

    Real processes: a coordinator, the three participants, and the checkout
    CLI run as a child with --json, its output parsed here.  A stuck saga
    is made by stopping the order participant (SIGSTOP); a saga that stays
    before the pivot long enough to be cancelled, by a slow payment gateway
    (--latency-ms).
*/
#include <criterion/criterion.h>
#include <msgpack.h>
#include "e2e_helpers.h"

//  Generous bounds: the ASan build is several times slower
#define READY_MS    30000
#define REPLY_MS    30000
#define CLI_MS      30000

static e2e_group_t s_group;
static char s_output [65536 * 4];       //  the CLI's last stdout

static void
s_init (void)
{
    cr_assert_eq (e2e_group_init (&s_group, "ck-e2e-operator"), 0, "no temp dir");
}

static void
s_fini (void)
{
    e2e_group_fini (&s_group);
}

TestSuite (e2e_operator, .init = s_init, .fini = s_fini, .timeout = 180);

//  Runs the checkout CLI with args (NULL-terminated) on the group's
//  frontend; its stdout lands in s_output.  Returns its exit code.
static int
s_cli (const char *first, ...)
{
    char program [PATH_MAX + 16], out [PATH_MAX], err [PATH_MAX];
    snprintf (program, sizeof program, "%s/checkout", s_group.bin);
    e2e_path (&s_group, "cli.out", out, sizeof out);
    e2e_path (&s_group, "cli.err", err, sizeof err);
    unlink (out);
    const char *argv [32] = { program, "--frontend", s_group.frontend, "--timeout", "20000" };
    int argc = 5;
    va_list args;
    va_start (args, first);
    for (const char *arg = first; arg && argc < 31; arg = va_arg (args, const char *))
        argv [argc++] = arg;
    va_end (args);
    argv [argc] = NULL;
    pid_t pid = ph_spawn2 (program, (char *const *) argv, out, err);
    cr_assert_gt (pid, 0);
    int status = 0;
    if (ph_wait (pid, CLI_MS, &status)) {
        ph_kill_reap (&pid);
        cr_assert_fail ("checkout %s did not end", first);
    }
    char *text = ph_slurp (out);
    snprintf (s_output, sizeof s_output, "%s", text? text: "");
    free (text);
    return ph_exit_code (status);
}

//  The string value of "key" in the JSON object around at (the innermost
//  object that holds it: list entries hold no nested objects), into value
static bool
s_json_str (const char *object, const char *key, char *value, size_t size)
{
    char needle [80];
    snprintf (needle, sizeof needle, "\"%s\":\"", key);
    const char *end = strchr (object, '}');
    const char *at = strstr (object, needle);
    if (!at || (end && at > end))
        return false;
    at += strlen (needle);
    const char *close = strchr (at, '"');
    if (!close)
        return false;
    snprintf (value, size, "%.*s", (int) (close - at), at);
    return true;
}

//  The sagas of every page in s_output (one JSON line per page), in order
typedef struct {
    char checkout_id [CK_ID_SIZE];
    char status [16];
} listed_t;

static int
s_listed (listed_t *listed, int max, char *next, size_t next_size)
{
    int count = 0;
    next [0] = 0;
    for (const char *at = strstr (s_output, "{\"checkout_id\":"); at && count < max;
         at = strstr (at + 1, "{\"checkout_id\":")) {
        cr_assert (s_json_str (at, "checkout_id", listed [count].checkout_id, CK_ID_SIZE));
        cr_assert (s_json_str (at, "status", listed [count].status, 16));
        count++;
    }
    const char *last_next = NULL;
    for (const char *at = strstr (s_output, "\"next\":\""); at; at = strstr (at + 1, "\"next\":\""))
        last_next = at;
    if (last_next)
        snprintf (next, next_size, "%.*s", (int) (strchr (last_next + 8, '"') - last_next - 8),
                  last_next + 8);
    return count;
}

//  Submits W1 checkout k (a declined card when declined) and returns its
//  RESULT's status, or sends it without waiting when wait is false
static ck_status_t
s_submit (ck_client_t *client, uint64_t k, bool declined, bool wait)
{
    ck_checkout_t checkout;
    cr_assert_eq (w1_checkout_prefixed ("op-", k, &checkout), 0);
    if (declined)
        snprintf (checkout.payment_method, sizeof checkout.payment_method, "pm_card_declined");
    if (!wait) {
        cr_assert_eq (ck_client_send_checkout (client, &checkout), 0);
        return CK_STATUS_NONE;
    }
    ck_command_t command = ck_client_submit (client, &checkout, REPLY_MS);
    cr_assert_eq (command, CK_CMD_RESULT, "got %s", ck_command_name (command));
    return ck_client_reply (client)->result.status;
}

static void
s_id (uint64_t k, char *id)
{
    ck_checkout_t checkout;
    w1_checkout_prefixed ("op-", k, &checkout);
    memcpy (id, checkout.checkout_id, CK_ID_SIZE);
}

//  Waits until STATUS of checkout_id says status; false on timeout
static bool
s_wait_status (ck_client_t *client, const char *checkout_id, ck_status_t status,
               int timeout_ms)
{
    int64_t deadline = ph_now_ms () + timeout_ms;
    while (ph_now_ms () < deadline) {
        if (ck_client_status (client, checkout_id, REPLY_MS) == CK_CMD_RESULT
        &&  ck_client_reply (client)->result.status == status)
            return true;
        zclock_sleep (50);
    }
    return false;
}

//  Waits until DESCRIBE shows checkout_id's current request is of type
static bool
s_wait_current (ck_client_t *client, const char *checkout_id, ck_type_t type,
                int timeout_ms)
{
    int64_t deadline = ph_now_ms () + timeout_ms;
    while (ph_now_ms () < deadline) {
        if (ck_client_describe (client, checkout_id, REPLY_MS) == CK_CMD_DESCRIPTION
        &&  ck_client_reply (client)->description.type == type)
            return true;
        zclock_sleep (50);
    }
    return false;
}

//  -------------------------------------------------------------------------

Test (e2e_operator, list_pages_and_describe)
{
    //  the last saga stays at payment, which is stopped, while we look
    const char *coordinator [] = { "--step-timeout-ms", "20000", NULL };
    cr_assert_geq (e2e_start_group (&s_group, coordinator, READY_MS), 0,
                   "the group did not come up (logs in %s)", s_group.dir);
    ck_client_t *client = e2e_client (&s_group);
    //  W1 checkouts 3..8 have no injected failure
    char id [6][CK_ID_SIZE];
    for (uint64_t k = 0; k < 6; k++)
        s_id (3 + k, id [k]);
    for (uint64_t k = 0; k < 3; k++)
        cr_assert_eq (s_submit (client, 3 + k, false, true), CK_STATUS_CONFIRMED);
    for (uint64_t k = 3; k < 5; k++)
        cr_assert_eq (s_submit (client, 3 + k, true, true), CK_STATUS_FAILED);
    int payment = e2e_slot (&s_group, "payment-1");
    cr_assert_eq (ph_signal (s_group.pids [payment], SIGSTOP), 0);
    s_submit (client, 3 + 5, false, false);
    cr_assert (s_wait_current (client, id [5], CK_TYPE_AUTHORIZE_PAYMENT, REPLY_MS));

    //  pages of two, newest first, each saga once, through the cursor
    listed_t all [8];
    int count = 0;
    char next [CK_ID_SIZE] = "";
    for (int page = 0; page < 4; page++) {
        int code = next [0]? s_cli ("list", "--limit", "2", "--json", "--cursor", next, NULL)
                           : s_cli ("list", "--limit", "2", "--json", NULL);
        cr_assert_eq (code, 0, "%s", s_output);
        int got = s_listed (all + count, 8 - count, next, sizeof next);
        cr_assert_leq (got, 2, "%s", s_output);
        count += got;
        if (!next [0])
            break;
    }
    cr_assert_eq (count, 6, "listed %d: %s", count, s_output);
    for (int i = 0; i < 6; i++)
        cr_assert_str_eq (all [i].checkout_id, id [5 - i], "newest first");
    cr_assert_str_eq (all [0].status, "running");
    cr_assert_str_eq (all [1].status, "failed");
    cr_assert_str_eq (all [5].status, "confirmed");

    //  filters
    cr_assert_eq (s_cli ("list", "--status", "failed", "--json", NULL), 0);
    listed_t failed [8];
    cr_assert_eq (s_listed (failed, 8, next, sizeof next), 2, "%s", s_output);
    cr_assert_str_eq (failed [0].checkout_id, id [4]);
    cr_assert_str_eq (failed [1].checkout_id, id [3]);
    cr_assert_eq (s_cli ("list", "--status", "running", "--json", NULL), 0);
    cr_assert_eq (s_listed (failed, 8, next, sizeof next), 1, "%s", s_output);
    cr_assert_str_eq (failed [0].checkout_id, id [5]);
    cr_assert_eq (s_cli ("list", "--since", "1h", NULL), 0);
    cr_assert (ph_has_line (s_output, "CHECKOUT_ID"), "%s", s_output);
    cr_assert_not_null (strstr (s_output, id [2]), "%s", s_output);
    cr_assert_eq (s_cli ("list", "--status", "sideways", NULL), 2, "a bad flag is usage");

    //  describe: the cart, each step with its result id
    cr_assert_eq (s_cli ("describe", id [0], "--json", NULL), 0, "%s", s_output);
    char value [CK_ID_SIZE];
    cr_assert (s_json_str (s_output, "checkout_id", value, sizeof value));
    cr_assert_str_eq (value, id [0]);
    cr_assert (s_json_str (s_output, "status", value, sizeof value));
    cr_assert_str_eq (value, "confirmed");
    const char *steps = strstr (s_output, "\"steps\":[");
    cr_assert_not_null (steps, "%s", s_output);
    int done = 0;
    for (const char *at = strstr (steps, "{\"step\":"); at; at = strstr (at + 1, "{\"step\":")) {
        cr_assert (s_json_str (at, "state", value, sizeof value));
        cr_assert_str_eq (value, "done");
        cr_assert (s_json_str (at, "result_id", value, sizeof value), "%s", at);
        done++;
    }
    cr_assert_eq (done, 3);
    cr_assert_not_null (strstr (s_output, "\"history\":["), "%s", s_output);
    cr_assert_eq (s_cli ("describe", id [5], NULL), 0);
    cr_assert_not_null (strstr (s_output, "AuthorizePayment"), "%s", s_output);
    cr_assert_eq (s_cli ("describe", "op-nothing", "--json", NULL), 5);
    cr_assert (s_json_str (s_output, "code", value, sizeof value));
    cr_assert_str_eq (value, "unknown_checkout");
    cr_assert_eq (ph_signal (s_group.pids [payment], SIGCONT), 0);
    cr_assert (s_wait_status (client, id [5], CK_STATUS_CONFIRMED, REPLY_MS));
}

Test (e2e_operator, a_stuck_saga_is_retried_and_completes)
{
    //  one attempt makes the pivot stuck at once; the back-off after it is
    //  far longer than the test waits, so only the retry can finish it
    const char *coordinator [] = { "--step-timeout-ms", "1000", "--max-attempts", "1",
                                   "--backoff-ms", "120000", "--backoff-max-ms", "120000",
                                   NULL };
    cr_assert_geq (e2e_start_group (&s_group, coordinator, READY_MS), 0,
                   "the group did not come up (logs in %s)", s_group.dir);
    ck_client_t *client = e2e_client (&s_group);
    int order = e2e_slot (&s_group, "order-1");
    cr_assert_eq (ph_signal (s_group.pids [order], SIGSTOP), 0);
    cr_assert_eq (s_submit (client, 13, false, true), CK_STATUS_STUCK);
    char id [CK_ID_SIZE];
    s_id (13, id);
    cr_assert_eq (s_cli ("list", "--status", "stuck", "--json", NULL), 0);
    listed_t stuck [4];
    char next [CK_ID_SIZE];
    cr_assert_eq (s_listed (stuck, 4, next, sizeof next), 1, "%s", s_output);
    cr_assert_str_eq (stuck [0].checkout_id, id);

    cr_assert_eq (ph_signal (s_group.pids [order], SIGCONT), 0);
    cr_assert_eq (e2e_wait_ready (&s_group, 1, 1, 1, READY_MS), 0);
    cr_assert_eq (s_cli ("retry", id, "--by", "ops-test", "--json", NULL), 0, "%s", s_output);
    char value [CK_ID_SIZE];
    cr_assert (s_json_str (s_output, "checkout_id", value, sizeof value));
    cr_assert_str_eq (value, id);
    cr_assert (s_wait_status (client, id, CK_STATUS_CONFIRMED, 15000),
               "the retried saga did not confirm (logs in %s)", s_group.dir);
    cr_assert_eq (s_cli ("describe", id, "--json", NULL), 0);
    cr_assert_not_null (strstr (s_output, "\"event\":\"retry_asked\""), "%s", s_output);
    cr_assert_not_null (strstr (s_output, "retry asked by ops-test"), "%s", s_output);
    //  ended: nothing left to retry
    cr_assert_eq (s_cli ("retry", id, "--json", NULL), 5);
    cr_assert (s_json_str (s_output, "code", value, sizeof value));
    cr_assert_str_eq (value, "conflict");
    cr_assert_eq (s_cli ("retry", "op-unknown", "--json", NULL), 5);
    cr_assert (s_json_str (s_output, "code", value, sizeof value));
    cr_assert_str_eq (value, "unknown_checkout");
}

Test (e2e_operator, cancel_before_the_pivot_and_refused_after_it)
{
    const char *slow [] = { "--latency-ms", "2000", NULL };
    const char *coordinator [] = { "--step-timeout-ms", "20000", NULL };
    cr_assert_geq (e2e_start_group_with (&s_group, coordinator, slow, READY_MS), 0,
                   "the group did not come up (logs in %s)", s_group.dir);
    ck_client_t *client = e2e_client (&s_group);
    zsock_t *events = e2e_keep (&s_group, zsock_new_sub (s_group.events, "saga.cancelled"));
    cr_assert_not_null (events);
    char id [CK_ID_SIZE], late [CK_ID_SIZE];
    s_id (23, id);
    s_id (24, late);

    //  before the pivot: payment is under way
    s_submit (client, 23, false, false);
    cr_assert (s_wait_current (client, id, CK_TYPE_AUTHORIZE_PAYMENT, REPLY_MS));
    cr_assert_eq (s_cli ("cancel", id, "--by", "ops-test", "--reason", "customer asked",
                         "--json", NULL), 0, "%s", s_output);
    cr_assert (s_wait_status (client, id, CK_STATUS_FAILED, REPLY_MS));
    const ck_result_t *result = &ck_client_reply (client)->result;
    cr_assert_str_eq (result->reason.code, "cancelled");
    cr_assert_not_null (strstr (result->reason.message, "ops-test"));
    cr_assert_eq (result->compensated_count, 2);
    char value [CK_TEXT_SIZE];
    cr_assert_eq (s_cli ("describe", id, "--json", NULL), 0);
    cr_assert (s_json_str (s_output, "status", value, sizeof value));
    cr_assert_str_eq (value, "failed");
    cr_assert_not_null (strstr (s_output, "\"event\":\"cancel_asked\""), "%s", s_output);
    //  the reservation is released, the authorization voided
    sqlite3 *inventory = e2e_db_open (&s_group, "inventory.db");
    sqlite3 *payment = e2e_db_open (&s_group, "payment.db");
    char status [32];
    cr_assert_eq (e2e_db_text (inventory, "SELECT status FROM reservations WHERE saga_id = ?1",
                               result->saga_id, status, sizeof status), 0);
    cr_assert_neq (strcmp (status, "held"), 0, "reservation %s", status);
    cr_assert_eq (e2e_db_text (payment, "SELECT status FROM authorizations WHERE saga_id = ?1",
                               result->saga_id, status, sizeof status), 0);
    cr_assert_neq (strcmp (status, "authorized"), 0, "authorization %s", status);
    sqlite3_close (inventory);
    sqlite3_close (payment);
    //  the event, durable before it was published
    zsock_set_rcvtimeo (events, 5000);
    char *topic = NULL;
    zframe_t *body = NULL;
    cr_assert_eq (zsock_recv (events, "sf", &topic, &body), 0);
    ck_ev_operator_t event;
    ck_decode_error_t err;
    cr_assert_eq (ck_decode_ev_operator (zframe_data (body), zframe_size (body), &event, &err), 0);
    cr_assert_str_eq (event.by, "ops-test");
    cr_assert_str_eq (event.reason, "customer asked");
    zstr_free (&topic);
    zframe_destroy (&body);

    //  after the pivot: CreateOrder is out, and the order participant stopped
    int order = e2e_slot (&s_group, "order-1");
    cr_assert_eq (ph_signal (s_group.pids [order], SIGSTOP), 0);
    s_submit (client, 24, false, false);
    cr_assert (s_wait_current (client, late, CK_TYPE_CREATE_ORDER, REPLY_MS));
    cr_assert_eq (s_cli ("cancel", late, "--json", NULL), 5, "%s", s_output);
    cr_assert (s_json_str (s_output, "code", value, sizeof value));
    cr_assert_str_eq (value, "conflict");
    cr_assert (s_json_str (s_output, "message", value, sizeof value));
    cr_assert_not_null (strstr (value, "pivot"), "%s", value);
    cr_assert_eq (ph_signal (s_group.pids [order], SIGCONT), 0);
    cr_assert (s_wait_status (client, late, CK_STATUS_CONFIRMED, REPLY_MS),
               "the saga past its pivot did not confirm (logs in %s)", s_group.dir);
}

//  -------------------------------------------------------------------------
//  Malformed operator requests, sent raw to the real coordinator

//  Packs the key/value pairs of a request body after its "v"
typedef void (packer_fn) (msgpack_packer *pk);

static void
s_key (msgpack_packer *pk, const char *key)
{
    msgpack_pack_str (pk, strlen (key));
    msgpack_pack_str_body (pk, key, strlen (key));
}

static void
s_str (msgpack_packer *pk, const char *key, const char *value)
{
    s_key (pk, key);
    msgpack_pack_str (pk, strlen (value));
    msgpack_pack_str_body (pk, value, strlen (value));
}

static char s_target [CK_ID_SIZE];      //  the saga the bad requests name

static void s_cancel_id_as_int (msgpack_packer *pk)
{ s_key (pk, "checkout_id"); msgpack_pack_int (pk, 42); s_str (pk, "by", "x"); }
static void s_cancel_no_by (msgpack_packer *pk)
{ s_str (pk, "checkout_id", s_target); s_key (pk, "reason"); msgpack_pack_nil (pk); }
static void s_cancel_reason_as_map (msgpack_packer *pk)
{ s_str (pk, "checkout_id", s_target); s_str (pk, "by", "x");
  s_key (pk, "reason"); msgpack_pack_map (pk, 0); }
static void s_retry_by_as_array (msgpack_packer *pk)
{ s_str (pk, "checkout_id", s_target); s_key (pk, "by"); msgpack_pack_array (pk, 0); }
static void s_list_bad_status (msgpack_packer *pk)
{ s_str (pk, "status", "bogus"); s_key (pk, "limit"); msgpack_pack_int (pk, 5); }
static void s_list_negative_limit (msgpack_packer *pk)
{ s_key (pk, "limit"); msgpack_pack_int (pk, -1); s_key (pk, "since_ms"); msgpack_pack_int (pk, 0); }
static void s_describe_no_id (msgpack_packer *pk)
{ s_key (pk, "cursor"); msgpack_pack_int (pk, 1); s_key (pk, "by"); msgpack_pack_int (pk, 1); }

//  Sends command with a body of v plus what pack adds (pairs pairs), or
//  raw bytes when pack is NULL; returns the ERROR's code, or "" when the
//  answer was something else, or "none" when nothing came
static const char *
s_bad_request (zsock_t *peer, ck_command_t command, packer_fn *pack, uint32_t pairs,
               const char *raw, size_t raw_size)
{
    static char code [32];
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    if (pack) {
        msgpack_packer pk;
        msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map (&pk, pairs + 1);
        s_str (&pk, "v", CK_VERSION);
        pack (&pk);
    }
    int rc = pack? ck_frame_send (peer, NULL, 0, CK_PROTO_CLIENT, command, sb.data, sb.size)
                 : ck_frame_send (peer, NULL, 0, CK_PROTO_CLIENT, command, raw, raw_size);
    msgpack_sbuffer_destroy (&sb);
    cr_assert_eq (rc, 0);
    snprintf (code, sizeof code, "none");
    zmsg_t *msg = zmsg_recv (peer);
    if (!msg)
        return code;
    ck_frame_t frame;
    ck_decode_error_t err;
    ck_error_t error;
    code [0] = 0;
    if (ck_frame_parse (msg, CK_PROTO_CLIENT, false, &frame, &err) == 0
    &&  frame.command == CK_CMD_ERROR
    &&  ck_decode_error (frame.body, frame.body_size, &error, &err) == 0) {
        snprintf (code, sizeof code, "%s", ck_error_code_name (error.code));
        cr_expect_gt (strlen (error.message), 0, "an ERROR without a message");
    }
    zmsg_destroy (&msg);
    return code;
}

Test (e2e_operator, malformed_requests_get_clear_errors_and_change_nothing)
{
    //  a slow gateway keeps the target before its pivot while it is attacked
    const char *slow [] = { "--latency-ms", "1500", NULL };
    cr_assert_geq (e2e_start_group_with (&s_group, NULL, slow, READY_MS), 0,
                   "the group did not come up (logs in %s)", s_group.dir);
    ck_client_t *client = e2e_client (&s_group);
    s_id (31, s_target);
    s_submit (client, 31, false, false);
    cr_assert (s_wait_current (client, s_target, CK_TYPE_AUTHORIZE_PAYMENT, REPLY_MS));

    zsock_t *peer = e2e_keep (&s_group, zsock_new_dealer (s_group.frontend));
    cr_assert_not_null (peer);
    zsock_set_rcvtimeo (peer, REPLY_MS);
    const struct { ck_command_t command; packer_fn *pack; uint32_t pairs; } cases [] = {
        { CK_CMD_CANCEL, s_cancel_id_as_int, 2 },
        { CK_CMD_CANCEL, s_cancel_no_by, 2 },
        { CK_CMD_CANCEL, s_cancel_reason_as_map, 3 },
        { CK_CMD_RETRY, s_retry_by_as_array, 2 },
        { CK_CMD_LIST, s_list_bad_status, 2 },
        { CK_CMD_LIST, s_list_negative_limit, 2 },
        { CK_CMD_DESCRIBE, s_describe_no_id, 2 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        const char *code = s_bad_request (peer, cases [i].command, cases [i].pack,
                                          cases [i].pairs, NULL, 0);
        cr_expect_str_eq (code, "bad_request", "case %zu (%s) answered %s", i,
                          ck_command_name (cases [i].command), code);
    }
    //  not msgpack at all, and a map cut short
    const char garbage [] = "\xc1\xff\x00 not a body";
    cr_expect_str_eq (s_bad_request (peer, CK_CMD_CANCEL, NULL, 0, garbage, sizeof garbage),
                      "bad_request");
    const char cut [] = "\x83\xa1v\xa3" "1.0\xab" "checkout_id";
    cr_expect_str_eq (s_bad_request (peer, CK_CMD_RETRY, NULL, 0, cut, sizeof cut - 1),
                      "bad_request");

    //  nothing changed: the target goes on to confirm, with no operator entry
    cr_assert (s_wait_status (client, s_target, CK_STATUS_CONFIRMED, REPLY_MS),
               "the target did not confirm (logs in %s)", s_group.dir);
    cr_assert_eq (s_cli ("describe", s_target, "--json", NULL), 0, "%s", s_output);
    cr_expect_null (strstr (s_output, "_asked"), "%s", s_output);
    //  and the coordinator still answers
    cr_assert_eq (s_cli ("list", "--limit", "1", "--json", NULL), 0, "%s", s_output);
}
