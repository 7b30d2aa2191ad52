/*  main.c - checkout-inventory, the inventory participant process
    Reserves and releases stock for checkouts; the runtime does the transport.
*/
#include "inventory_rules.h"
#include "participant_process.h"

static const ck_option_t s_options [] = {
    { "seed", CK_OPT_STRING, NULL, 0, 0, "FILE",
      "CSV lines sku,available loaded into an empty stock table" },
    { .name = NULL }
};

static int
s_setup (ck_config_t *config, participant_store_t *store, ck_participant_config_t *runtime)
{
    inventory_repo_t *repo = participant_store_pg (store)? inventory_repo_pg_new (store)
                        : inventory_repo_sqlite_new (store);
    if (!repo)
        return -1;
    inventory_rules_t *rules = inventory_rules_new (&repo, participant_store_ledger (store));
    const char *seed = ck_config_str (config, "seed");
    if (seed && inventory_rules_seed (rules, seed) < 0) {
        ck_config_usage_error (config, "--seed %s", inventory_rules_reason (rules));
        inventory_rules_destroy (&rules);
        return 2;
    }
    runtime->handlers [CK_TYPE_RESERVE_INVENTORY] = inventory_rules_reserve;
    runtime->handlers [CK_TYPE_RELEASE_INVENTORY] = inventory_rules_release;
    if (participant_store_pg (store))
        runtime->batch_handler = inventory_rules_batch;
    runtime->state = rules;
    return 0;
}

static void
s_teardown (ck_participant_config_t *runtime)
{
    inventory_rules_t *rules = (inventory_rules_t *) runtime->state;
    inventory_rules_destroy (&rules);
}

int
main (int argc, char *argv [])
{
    ck_participant_process_t process = {
        .service = CK_SERVICE_INVENTORY, .name = "checkout-inventory",
        .summary = "the inventory participant: reserves and releases stock",
        .examples =
            "  checkout-inventory --db data/inventory.db --seed scripts/seeds/w1-catalog.csv\n"
            "  checkout-inventory --db postgresql://ck@db.example/inventory"
            " --coordinator tcp://10.0.0.1:5571 --instance inventory-b-1\n",
        .options = s_options, .setup = s_setup, .teardown = s_teardown
    };
    return ck_participant_process_main (&process, argc, argv);
}
