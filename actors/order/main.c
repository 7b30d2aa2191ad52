/*  main.c - checkout-order, the order participant process
    Creates orders (the saga's pivot); the runtime does the transport.
*/
#include "order_rules.h"
#include "participant_process.h"

static const ck_option_t s_options [] = {
    { "served", CK_OPT_STRING, "all-AQ", 0, 0, "LIST",
      "countries served: all, all-XX-YY (all but those) or XX,YY (only those)" },
    { .name = NULL }
};

static int
s_setup (ck_config_t *config, participant_store_t *store, ck_participant_config_t *runtime)
{
    const char *served = ck_config_str (config, "served");
    if (!order_rules_served_valid (served)) {
        ck_config_usage_error (config, "--served: '%s' is not all, all-XX-YY or XX,YY", served);
        return 2;
    }
    order_repo_t *repo = participant_store_pg (store)? order_repo_pg_new (store)
                    : order_repo_sqlite_new (store);
    if (!repo)
        return -1;
    order_rules_t *rules = order_rules_new (&repo, participant_store_ledger (store), served);
    if (!rules)
        return -1;
    runtime->handlers [CK_TYPE_CREATE_ORDER] = order_rules_create;
    if (participant_store_pg (store))
        runtime->batch_handler = order_rules_batch;
    runtime->state = rules;
    return 0;
}

static void
s_teardown (ck_participant_config_t *runtime)
{
    order_rules_t *rules = (order_rules_t *) runtime->state;
    order_rules_destroy (&rules);
}

int
main (int argc, char *argv [])
{
    ck_participant_process_t process = {
        .service = CK_SERVICE_ORDER, .name = "checkout-order",
        .summary = "the order participant: creates orders",
        .examples =
            "  checkout-order --db data/order.db --coordinator tcp://127.0.0.1:5571\n",
        .options = s_options, .setup = s_setup, .teardown = s_teardown
    };
    return ck_participant_process_main (&process, argc, argv);
}
