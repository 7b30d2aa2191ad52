/*  fake_shipping.c - checkout-fake-shipping, a service a step table adds
    The shipping participant of the 4-step tests: ReserveShipping and
    CancelShipping on the participant runtime and its ledger, and nothing
    else.  It shows what a new step costs: this file and a table row.

    ReserveShipping is rejected "no_carrier" for ship_to ZZ, ok otherwise;
    the ledger's entries are the shipments ("shipment-<n>").
*/
#include <czmq.h>
#include "participant_process.h"

#define NO_CARRIER_COUNTRY "ZZ"

static int
s_decide_reserve (void *state, const ck_request_t *request,
                  const ledger_entry_t *forward, ledger_entry_t *answer)
{
    (void) state;
    (void) forward;
    answer->outcome = CK_OUTCOME_OK;
    if (streq (request->ship_to.country, NO_CARRIER_COUNTRY)) {
        answer->outcome = CK_OUTCOME_REJECTED;
        snprintf (answer->reason.code, sizeof answer->reason.code, "no_carrier");
        snprintf (answer->reason.message, sizeof answer->reason.message,
                  "no carrier ships to %s", request->ship_to.country);
    }
    return 0;
}

//  Nothing to undo but the ledger's entry, which the cancel's own entry
//  marks; a cancel that comes first is the tombstone
static int
s_decide_cancel (void *state, const ck_request_t *request,
                 const ledger_entry_t *forward, ledger_entry_t *answer)
{
    (void) state;
    (void) request;
    (void) forward;
    answer->outcome = CK_OUTCOME_OK;
    return 0;
}

static const ledger_handler_t s_reserve = { s_decide_reserve, NULL };
static const ledger_handler_t s_cancel = { s_decide_cancel, NULL };

static int
s_handle_reserve (void *state, const ck_request_t *request, ck_reply_t *reply)
{
    return ledger_run ((ledger_t *) state, &s_reserve, NULL, request, reply);
}

static int
s_handle_cancel (void *state, const ck_request_t *request, ck_reply_t *reply)
{
    return ledger_run ((ledger_t *) state, &s_cancel, NULL, request, reply);
}

static int
s_setup (ck_config_t *config, participant_store_t *store, ck_participant_config_t *runtime)
{
    ck_type_t reserve = ck_type_lookup ("ReserveShipping", strlen ("ReserveShipping"));
    ck_type_t cancel = ck_type_lookup ("CancelShipping", strlen ("CancelShipping"));
    if (!reserve || !cancel || ck_type_service (reserve) != runtime->service
    ||  ck_type_service (cancel) != runtime->service) {
        ck_config_usage_error (config, "--steps: the table has no shipping step with"
                               " ReserveShipping and CancelShipping");
        return 2;
    }
    runtime->handlers [reserve] = s_handle_reserve;
    runtime->handlers [cancel] = s_handle_cancel;
    runtime->state = participant_store_ledger (store);
    return 0;
}

int
main (int argc, char *argv [])
{
    ck_participant_process_t process = {
        .service_name = "shipping", .name = "checkout-fake-shipping",
        .summary = "a test participant: reserves and cancels shipping",
        .setup = s_setup
    };
    return ck_participant_process_main (&process, argc, argv);
}
