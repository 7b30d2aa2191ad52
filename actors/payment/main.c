/*  main.c - checkout-payment, the payment participant process
    Authorizes and voids payments (sandbox rules); the runtime does the transport.
*/
#include "participant_process.h"
#include "payment_rules.h"

static const ck_option_t s_options [] = {
    { "latency-ms", CK_OPT_INT, "0", 0, 600000, "N",
      "simulated gateway time per authorization, in ms" },
    { .name = NULL }
};

static int
s_setup (ck_config_t *config, participant_store_t *store, ck_participant_config_t *runtime)
{
    payment_repo_t *repo = participant_store_pg (store)? payment_repo_pg_new (store)
                      : payment_repo_sqlite_new (store);
    if (!repo)
        return -1;
    payment_rules_t *rules = payment_rules_new (&repo, participant_store_ledger (store),
        (uint32_t) ck_config_int (config, "latency-ms"));
    runtime->handlers [CK_TYPE_AUTHORIZE_PAYMENT] = payment_rules_authorize;
    runtime->handlers [CK_TYPE_VOID_PAYMENT] = payment_rules_void;
    runtime->delay_ms = payment_rules_delay_ms;
    if (participant_store_pg (store))
        runtime->batch_handler = payment_rules_batch;
    runtime->state = rules;
    return 0;
}

static void
s_teardown (ck_participant_config_t *runtime)
{
    payment_rules_t *rules = (payment_rules_t *) runtime->state;
    payment_rules_destroy (&rules);
}

int
main (int argc, char *argv [])
{
    ck_participant_process_t process = {
        .service = CK_SERVICE_PAYMENT, .name = "checkout-payment",
        .summary = "the payment participant: authorizes and voids payments",
        .examples =
            "  checkout-payment --db data/payment.db --instance payment-1 --capacity 64\n"
            "  checkout-payment --db data/payment.db --latency-ms 20   a slow gateway\n",
        .options = s_options, .setup = s_setup, .teardown = s_teardown
    };
    return ck_participant_process_main (&process, argc, argv);
}
