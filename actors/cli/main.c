/*  main.c - checkout, the command-line client of the checkout coordinator
    submit, status, ping, and the operator's list, describe, retry, cancel.
*/
#include <czmq.h>
#include <limits.h>
#include "checkout/curve.h"
#include "checkout/client.h"
#include "cli_cart.h"
#include "cli_ops.h"
#include "cli_print.h"
#include "checkout/codec.h"
#include "checkout/config.h"
#include "saga_def.h"
#include "w1.h"

//  Exit codes (docs/client.md)
#define EXIT_DONE           0           //  confirmed, PONG, STATUS answered
#define EXIT_NO_ANSWER      1           //  unreachable, timeout, interrupted
#define EXIT_USAGE          2           //  bad flags or configuration
#define EXIT_FAILED         3           //  the checkout failed
#define EXIT_UNFINISHED     4           //  stuck or pending
#define EXIT_ERROR          5           //  the coordinator answered ERROR

static const ck_option_t s_options [] = {
    { "frontend", CK_OPT_LIST, "tcp://127.0.0.1:5570", 0, 0, "EP[,EP...]",
      "a coordinator's frontend; several (repeated or comma-separated) for "
      "coordinators sharing a saga log" },
    { "timeout", CK_OPT_INT, "10000", 1, 86400000, "MS", "how long to wait for the answer" },
    { "json", CK_OPT_BOOL, NULL, 0, 0, NULL, "print the reply body as one line of JSON" },
    { "checkout-id", CK_OPT_STRING, NULL, 0, 0, "ID", "submit: the idempotency key" },
    { "cart-id", CK_OPT_STRING, NULL, 0, 0, "ID", "submit: the cart" },
    { "customer", CK_OPT_STRING, NULL, 0, 0, "ID", "submit: the customer" },
    { "currency", CK_OPT_STRING, NULL, 0, 0, "XXX", "submit: ISO 4217 code, e.g. EUR" },
    { "item", CK_OPT_LIST, NULL, 0, 0, "SKU:QTY:UNIT_PRICE",
      "submit: a line of the cart, price in minor units" },
    { "amount", CK_OPT_INT, NULL, 0, LONG_MAX, "N",
      "submit: the total, checked against the lines (default: their sum)" },
    { "payment-method", CK_OPT_STRING, NULL, 0, 0, "TOKEN", "submit: e.g. pm_card_visa" },
    { "country", CK_OPT_STRING, NULL, 0, 0, "XX", "submit: ship_to country" },
    { "ack", CK_OPT_BOOL, NULL, 0, 0, NULL, "submit: ask for ACCEPTED once durable" },
    { "cart", CK_OPT_STRING, NULL, 0, 0, "FILE", "submit: the cart from a ZPL file" },
    { "w1", CK_OPT_INT, NULL, 0, LONG_MAX, "K", "submit: checkout K of workload W1" },
    { "prefix", CK_OPT_STRING, NULL, 0, 0, "TEXT", "submit --w1: put TEXT before the ids" },
    { "status", CK_OPT_STRING, NULL, 0, 0, "STATUS",
      "list: only running, stuck, confirmed or failed sagas" },
    { "since", CK_OPT_STRING, NULL, 0, 0, "TIME",
      "list: sagas accepted since TIME: N[s|m|h|d] ago, or ms since the epoch" },
    { "limit", CK_OPT_INT, NULL, 1, 100000, "N", "list: show at most N sagas (default 20)" },
    { "cursor", CK_OPT_STRING, NULL, 0, 0, "SAGA_ID",
      "list: start after this saga (a page's `next`)" },
    { "by", CK_OPT_STRING, NULL, 0, 0, "TEXT",
      "retry, cancel: who asks (default: this process's user; not authenticated)" },
    { "reason", CK_OPT_STRING, NULL, 0, 0, "TEXT", "cancel: why, up to 160 bytes" },
    SAGA_DEF_STEPS_OPTION,
    CK_CURVE_CLIENT_OPTIONS,
    { .name = NULL }
};

static const ck_program_t s_program = {
    .name = "checkout",
    .summary = "the checkout client: submit (flags, --cart FILE or --w1 K), "
               "status CHECKOUT_ID, ping; for operators: list, describe CHECKOUT_ID, "
               "retry CHECKOUT_ID, cancel CHECKOUT_ID",
    .args = "COMMAND [CHECKOUT_ID]",
    .max_args = 2,
    .commands = "submit status ping list describe retry cancel",
    .options = s_options,
    .examples =
        "  checkout ping\n"
        "  checkout --frontend tcp://10.0.0.1:5570,tcp://10.0.0.2:5570 status chk-1\n"
        "  checkout submit --w1 7 --ack\n"
        "  checkout submit --checkout-id chk-1 --customer c-1 --item SKU-0001:2:1999\n"
        "  checkout status chk-1 --json\n"
        "  checkout list --status stuck --since 1h --limit 50\n"
        "  checkout describe chk-1\n"
        "  checkout retry chk-1 --by alice\n"
        "  checkout cancel chk-1 --reason 'customer asked' --json\n",
    .exit_codes =
        "0 done (confirmed, PONG, an answer printed), 1 no answer (unreachable,\n"
        "timeout, interrupted), 2 bad usage or bad configuration, 3 the checkout\n"
        "failed, 4 stuck or pending, 5 the coordinator answered ERROR (one line on\n"
        "stderr names it)."
};

//  Flags that set one key of the cart each; items and ack are apart
static const struct { const char *flag; const char *key; } s_fields [] = {
    { "checkout-id", "checkout_id" }, { "cart-id", "cart_id" },
    { "customer", "customer_id" }, { "currency", "currency" },
    { "payment-method", "payment_method" }, { "country", "country" },
};

//  The base of the cart: W1 checkout K, a cart file, or nothing
static int
s_cart_base (ck_config_t *config, cli_cart_t *cart)
{
    char reason [CLI_REASON_SIZE];
    const char *file = ck_config_str (config, "cart");
    const char *prefix = ck_config_str (config, "prefix");
    bool w1 = ck_config_str (config, "w1") != NULL;
    if (file && w1)
        ck_config_usage_error (config, "--cart and --w1: give one of them");
    else
    if (prefix && !w1)
        ck_config_usage_error (config, "--prefix: only with --w1");
    else
    if (w1 && w1_checkout_prefixed (prefix, (uint64_t) ck_config_int (config, "w1"),
                                    &cart->checkout))
        ck_config_usage_error (config, "--prefix '%.64s': must be up to %d bytes of "
                               "[A-Za-z0-9._:-]", prefix, W1_PREFIX_MAX);
    else
    if (file && cli_cart_load (cart, file, reason))
        ck_config_usage_error (config, "--cart %.200s: %s", file, reason);
    else
        return 0;
    return -1;
}

//  Builds the cart to submit: the base, then the flags over it
static int
s_cart_build (ck_config_t *config, cli_cart_t *cart)
{
    char reason [CLI_REASON_SIZE];
    cli_cart_init (cart);
    if (s_cart_base (config, cart))
        return -1;
    for (size_t i = 0; i < sizeof s_fields / sizeof s_fields [0]; i++) {
        const char *value = ck_config_str (config, s_fields [i].flag);
        if (value && cli_cart_set (cart, s_fields [i].key, value, reason)) {
            ck_config_usage_error (config, "--%s: %s", s_fields [i].flag, reason);
            return -1;
        }
    }
    size_t items = ck_config_list_size (config, "item");
    if (items)
        cli_cart_clear_items (cart);
    for (size_t i = 0; i < items; i++)
        if (cli_cart_set (cart, "item", ck_config_list_at (config, "item", i), reason)) {
            ck_config_usage_error (config, "--item: %s", reason);
            return -1;
        }
    const char *amount = ck_config_str (config, "amount");
    if (amount && cli_cart_set (cart, "amount", amount, reason)) {
        ck_config_usage_error (config, "--amount: %s", reason);
        return -1;
    }
    if (ck_config_bool (config, "ack"))
        cart->checkout.ack = true;
    if (cli_cart_finish (cart, reason)) {
        ck_config_usage_error (config, "submit: %s", reason);
        return -1;
    }
    return 0;
}

//  The commands, what each sends, and whether it names a checkout
static const struct {
    const char *name;
    ck_command_t command;
    bool with_id;
} s_commands [] = {
    { "submit", CK_CMD_CHECKOUT, false }, { "status", CK_CMD_STATUS, true },
    { "ping", CK_CMD_PING, false }, { "list", CK_CMD_LIST, false },
    { "describe", CK_CMD_DESCRIBE, true }, { "retry", CK_CMD_RETRY, true },
    { "cancel", CK_CMD_CANCEL, true },
};
#define COMMAND_NAMES "submit, status, ping, list, describe, retry or cancel"

//  Checks the command line's positional arguments
static ck_command_t
s_command (ck_config_t *config)
{
    int count = ck_config_arg_count (config);
    const char *name = count? ck_config_arg (config, 0): "";
    ck_command_t command = CK_CMD_NONE;
    bool with_id = false;
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands [0]; i++)
        if (streq (name, s_commands [i].name)) {
            command = s_commands [i].command;
            with_id = s_commands [i].with_id;
        }
    int wanted = with_id? 2: 1;
    if (count == 0)
        ck_config_usage_error (config, "missing COMMAND: " COMMAND_NAMES);
    else
    if (command == CK_CMD_NONE)
        ck_config_usage_error (config, "unknown command '%.64s': " COMMAND_NAMES, name);
    else
    if (count != wanted)
        ck_config_usage_error (config, "%s takes %s", name,
                               wanted == 2? "one CHECKOUT_ID": "no argument");
    else
    if (with_id && !ck_id_valid (ck_config_arg (config, 1),
                                 strlen (ck_config_arg (config, 1))))
        ck_config_usage_error (config, "%s '%.64s': not a checkout id", name,
                               ck_config_arg (config, 1));
    else
        return command;
    return CK_CMD_NONE;
}

//  The exit code of a RESULT to submit
static int
s_result_exit (const ck_result_t *result)
{
    if (result->status == CK_STATUS_CONFIRMED)
        return EXIT_DONE;
    return result->status == CK_STATUS_FAILED? EXIT_FAILED: EXIT_UNFINISHED;
}

//  Prints the answer and returns the exit code
static int
s_report (ck_config_t *config, ck_client_t *client, ck_command_t asked,
          ck_command_t answer)
{
    if (answer == CK_CMD_NONE) {
        if (zsys_interrupted)
            fprintf (stderr, "checkout: interrupted\n");
        else
            fprintf (stderr, "checkout: no answer from %s within %ld ms\n",
                     ck_client_endpoint (client), ck_config_int (config, "timeout"));
        return EXIT_NO_ANSWER;
    }
    const ck_client_reply_t *reply = ck_client_reply (client);
    bool json = ck_config_bool (config, "json");
    //  list printed its pages as they came
    if (json && !(asked == CK_CMD_LIST && answer == CK_CMD_SAGAS))
        cli_print_json (stdout, reply->body, reply->body_size);
    if (answer == CK_CMD_ERROR) {
        if (!json)
            cli_print_error (stderr, &reply->error);
        return EXIT_ERROR;
    }
    if (answer == CK_CMD_PONG) {
        if (!json)
            cli_print_pong (stdout, ck_client_answered_by (client), &reply->pong);
        return EXIT_DONE;
    }
    if (asked == CK_CMD_LIST)
        return EXIT_DONE;               //  cli_ops_list printed the pages
    if (answer == CK_CMD_DESCRIPTION) {
        if (!json)
            cli_ops_print_description (stdout, &reply->description);
        return EXIT_DONE;
    }
    if (asked == CK_CMD_STATUS || asked == CK_CMD_RETRY || asked == CK_CMD_CANCEL) {
        if (!json)
            cli_print_status (stdout, &reply->result);
        return EXIT_DONE;
    }
    if (!json)
        cli_print_result (stdout, &reply->result);
    return s_result_exit (&reply->result);
}

//  A client of every --frontend given; NULL after a usage error
static ck_client_t *
s_client_new (ck_config_t *config, const ck_curve_keys_t *curve)
{
    const char *frontends [CK_CLIENT_FRONTENDS_MAX];
    size_t count = ck_config_list_size (config, "frontend");
    if (count > CK_CLIENT_FRONTENDS_MAX) {
        ck_config_usage_error (config, "--frontend: at most %d", CK_CLIENT_FRONTENDS_MAX);
        return NULL;
    }
    for (size_t i = 0; i < count; i++)
        frontends [i] = ck_config_list_at (config, "frontend", i);
    ck_client_t *client = ck_client_new_frontends (frontends, count, curve);
    if (!client)                        //  the warning above names the bad one
        ck_config_usage_error (config, "--frontend: not endpoints to connect to "
                               "(tcp://, ipc:// or inproc://, at most %d)",
                               CK_CLIENT_FRONTENDS_MAX);
    return client;
}

static int
s_run (ck_config_t *config)
{
    ck_command_t command = s_command (config);
    cli_cart_t cart;
    ck_list_t list;
    uint32_t total = 0;
    char by [CK_BY_SIZE] = "";
    const char *reason = ck_config_str (config, "reason");
    if (command == CK_CMD_NONE
    || (command == CK_CMD_CHECKOUT && s_cart_build (config, &cart))
    || (command == CK_CMD_LIST && cli_ops_list_request (config, &list, &total))
    || ((command == CK_CMD_RETRY || command == CK_CMD_CANCEL) && cli_ops_by (config, by)))
        return EXIT_USAGE;
    if (reason && strlen (reason) > CK_CANCEL_REASON_MAX) {
        ck_config_usage_error (config, "--reason: at most %d bytes", CK_CANCEL_REASON_MAX);
        return EXIT_USAGE;
    }
    ck_curve_keys_t curve;
    if (ck_curve_client_flags (config, &curve))
        return EXIT_USAGE;
    ck_client_t *client = s_client_new (config, &curve);
    if (!client)
        return EXIT_USAGE;
    ck_client_set_verbose (client, ck_config_bool (config, "verbose"));
    int timeout = (int) ck_config_int (config, "timeout");
    ck_command_t answer = CK_CMD_NONE;
    if (command == CK_CMD_CHECKOUT)
        answer = ck_client_submit (client, &cart.checkout, timeout);
    else
    if (command == CK_CMD_STATUS)
        answer = ck_client_status (client, ck_config_arg (config, 1), timeout);
    else
    if (command == CK_CMD_LIST)
        answer = cli_ops_list (client, &list, total, ck_config_bool (config, "json"), timeout);
    else
    if (command == CK_CMD_DESCRIBE)
        answer = ck_client_describe (client, ck_config_arg (config, 1), timeout);
    else
    if (command == CK_CMD_RETRY)
        answer = ck_client_retry (client, ck_config_arg (config, 1), by, timeout);
    else
    if (command == CK_CMD_CANCEL)
        answer = ck_client_cancel (client, ck_config_arg (config, 1), by, reason, timeout);
    else
        answer = ck_client_ping (client, timeout);
    int exit_code = s_report (config, client, command, answer);
    fflush (stdout);
    ck_client_destroy (&client);
    return exit_code;
}

int
main (int argc, char *argv [])
{
    int exit_code = EXIT_USAGE;
    ck_config_t *config = ck_config_new (&s_program, argc, argv, &exit_code);
    if (!config)
        return exit_code;
    zsys_init ();
    //  stdout carries the answer (and --json); logs go apart
    zsys_set_logstream (stderr);
    zsys_set_logident ("checkout");
    exit_code = saga_def_load_flag (config);
    if (exit_code == 0)
        exit_code = s_run (config);
    ck_config_destroy (&config);
    return exit_code;
}
