/*  flood.c - clients that submit W1 checkouts and never read a reply
    The hostile half of scripts/overload: its load is real, its replies pile up.

    Usage: flood [--frontend EP[,EP...]] [--clients K] [--n N] [--prefix P]
                 [--first K] [--hold-ms MS]
    Opens K client connections, sends N W1 checkouts (ids P + W1's) spread
    over them as fast as each queue takes them, never reads, keeps the
    connections open for hold-ms, then closes them.  Prints one line,
    `flood clients=K sent=S queue_full=Q`.  Exit 0, or 2 on bad usage.
*/
#include <czmq.h>
#include <limits.h>
#include "checkout/client.h"
#include "checkout/config.h"
#include "w1.h"

#define MAX_CLIENTS 256

static const ck_option_t s_options [] = {
    { "frontend", CK_OPT_STRING, "tcp://127.0.0.1:5570", 0, 0, "EP[,EP...]",
      "the coordinator's frontend, or several sharing a saga log" },
    { "clients", CK_OPT_INT, "4", 1, MAX_CLIENTS, "K", "connections that never read" },
    { "n", CK_OPT_INT, "10000", 1, 100000000, "N", "checkouts sent in all" },
    { "first", CK_OPT_INT, "0", 0, LONG_MAX, "K", "the first W1 checkout k" },
    { "prefix", CK_OPT_STRING, "flood-", 0, 0, "P", "put P before W1's ids" },
    { "hold-ms", CK_OPT_INT, "5000", 0, 86400000, "MS", "keep the connections open this long" },
    { .name = NULL }
};

int
main (int argc, char *argv [])
{
    ck_program_t program = {
        .name = "flood",
        .summary = "clients that submit W1 checkouts and never read a reply",
        .options = s_options,
        .examples = "  flood --frontend tcp://127.0.0.1:5570 --clients 8 --n 50000\n"
    };
    int exit_code = 0;
    ck_config_t *config = ck_config_new (&program, argc, argv, &exit_code);
    if (!config)
        return exit_code;
    zsys_init ();
    zsys_set_logstream (stderr);
    const char *frontend = ck_config_str (config, "frontend");
    long clients = ck_config_int (config, "clients");
    long count = ck_config_int (config, "n");
    uint64_t first = (uint64_t) ck_config_int (config, "first");
    ck_client_t *client [MAX_CLIENTS] = { NULL };
    for (long i = 0; i < clients; i++)
        if (!(client [i] = ck_client_new_frontends (&frontend, 1, NULL))) {
            ck_config_usage_error (config, "--frontend: cannot connect to '%s'", frontend);
            exit_code = 2;
        }
    long sent = 0, queue_full = 0;
    ck_checkout_t checkout;
    for (long k = 0; exit_code == 0 && k < count && !zsys_interrupted; k++) {
        w1_checkout_prefixed (ck_config_str (config, "prefix"), first + (uint64_t) k, &checkout);
        if (ck_client_send_checkout (client [k % clients], &checkout) == 0)
            sent++;
        else
            queue_full++;
    }
    if (exit_code == 0) {
        int64_t until = zclock_mono () + ck_config_int (config, "hold-ms");
        while (!zsys_interrupted && zclock_mono () < until)
            zclock_sleep (50);
        printf ("flood clients=%ld sent=%ld queue_full=%ld\n", clients, sent, queue_full);
    }
    for (long i = 0; i < clients; i++)
        ck_client_destroy (&client [i]);
    ck_config_destroy (&config);
    return exit_code;
}
