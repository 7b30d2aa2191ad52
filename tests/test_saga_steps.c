/*  test_saga_steps.c - step tables from files, and the vocabulary they add
    saga_def_load's format and refusals, ck_service_add/ck_type_add, the
    codec on an added type, and the ledger's ids for an added result key.
    Each test runs in its own process, so what one adds stays there.
*/
#include <criterion/criterion.h>
#include <czmq.h>
#include "checkout/codec.h"
#include "ledger.h"
#include "process_helpers.h"
#include "saga_def.h"

static char s_error [512];
static char s_dir [64];                 //  a test's temp dir, if it made one

static void
s_fini (void)
{
    if (s_dir [0])
        ph_rmrf (s_dir);
}

TestSuite (saga_steps, .fini = s_fini, .timeout = 30);

//  Writes text into a temp file; returns its path (static storage)
static const char *
s_file (const char *text)
{
    static char path [128];
    if (!s_dir [0])
        cr_assert_eq (ph_mkdtemp ("ck-steps", s_dir, sizeof s_dir), 0);
    snprintf (path, sizeof path, "%s/steps.zpl", s_dir);
    FILE *file = fopen (path, "w");
    cr_assert_not_null (file);
    fputs (text, file);
    fclose (file);
    return path;
}

static int
s_load_text (const char *text)
{
    return saga_def_load (s_file (text), s_error, sizeof s_error);
}

static void
s_load_fixture (const char *name)
{
    char path [PATH_MAX], relative [128];
    snprintf (relative, sizeof relative, "tests/fixtures/%s", name);
    cr_assert_eq (ph_source_file (relative, path, sizeof path), 0);
    cr_assert_eq (saga_def_load (path, s_error, sizeof s_error), 0, "%s", s_error);
}

Test (saga_steps, the_checkout_file_is_the_built_in_table)
{
    char built_in [1024], loaded [1024];
    cr_assert_eq (saga_def_describe (saga_def_checkout (), built_in, sizeof built_in), 0);
    cr_assert_eq (saga_def_active (), saga_def_checkout (), "the default");
    s_load_fixture ("steps-checkout.zpl");
    cr_assert_neq (saga_def_active (), saga_def_checkout ());
    cr_assert_eq (saga_def_describe (saga_def_active (), loaded, sizeof loaded), 0);
    cr_assert_str_eq (loaded, built_in);
    cr_assert_eq (ck_type_lookup ("ShipIt", 6), CK_TYPE_NONE, "nothing added");
}

Test (saga_steps, a_fourth_step_adds_its_service_and_types)
{
    s_load_fixture ("steps-shipping.zpl");
    const saga_def_t *def = saga_def_active ();
    cr_assert_eq (def->step_count, 4);
    cr_assert_str_eq (def->name, "checkout-with-shipping");
    const saga_step_t *row = &def->steps [2];
    cr_assert_str_eq (ck_service_name (row->service), "shipping");
    cr_assert_eq (row->service, (ck_service_t) CK_SERVICE_COUNT, "the first added number");
    cr_assert_str_eq (ck_type_name (row->action), "ReserveShipping");
    cr_assert_str_eq (ck_type_name (row->compensation), "CancelShipping");
    cr_assert_eq (ck_type_service (row->compensation), row->service);
    cr_assert (ck_type_is_compensation (row->compensation));
    cr_assert_not (ck_type_is_compensation (row->action));
    cr_assert_str_eq (ck_type_result_key (row->action), "shipment_id");
    cr_assert_null (ck_type_result_key (row->compensation));
    cr_assert_eq (row->fields, SAGA_FIELD_ITEMS | SAGA_FIELD_SHIP_TO);
    cr_assert_eq (saga_def_find_result (def, "shipment_id"), 2);
    cr_assert_eq (saga_def_find_result (def, SAGA_RESULT_ORDER), 3);
    char buffer [CK_NAME_SIZE];
    cr_assert_str_eq (ledger_result_prefix (row->action, buffer, sizeof buffer), "shipment-");
    cr_assert_str_eq (ledger_result_prefix (CK_TYPE_RESERVE_INVENTORY, buffer, sizeof buffer),
                      "res-");
}

//  A type's number in stores comes from its name, not the order it came in
Test (saga_steps, an_added_type_has_a_code_from_its_name)
{
    ck_service_t shipping = ck_service_add ("shipping");
    cr_assert_neq (shipping, CK_SERVICE_NONE);
    ck_type_t cancel = ck_type_add ("CancelShipping", shipping, true, NULL);
    ck_type_t reserve = ck_type_add ("ReserveShipping", shipping, false, "shipment_id");
    int32_t cancel_code = ck_type_code (cancel), reserve_code = ck_type_code (reserve);
    cr_assert_gt (cancel_code, CK_TYPE_COUNT);
    cr_assert_neq (cancel_code, reserve_code);
    cr_assert_eq (ck_type_code (CK_TYPE_CREATE_ORDER), 5, "built-in numbers stay");
    s_load_fixture ("steps-shipping.zpl");
    cr_assert_eq (ck_type_lookup ("ReserveShipping", 15), reserve, "found, not added twice");
    cr_assert_eq (ck_type_code (reserve), reserve_code);
    cr_assert_eq (ck_type_code (cancel), cancel_code);
}

Test (saga_steps, the_vocabulary_refuses_conflicts_and_bad_names)
{
    ck_service_t shipping = ck_service_add ("shipping");
    cr_assert_eq (ck_service_add ("shipping"), shipping, "the same name, the same service");
    cr_assert_eq (ck_service_add ("ship ping"), CK_SERVICE_NONE);
    cr_assert_eq (ck_service_add (""), CK_SERVICE_NONE);
    cr_assert_eq (ck_type_add ("ReserveInventory", shipping, false, "reservation_id"),
                  CK_TYPE_NONE, "a built-in type of another service");
    cr_assert_eq (ck_type_add ("ReserveInventory", CK_SERVICE_INVENTORY, false, "res_id"),
                  CK_TYPE_NONE, "a built-in type with another result");
    cr_assert_eq (ck_type_add ("ReserveInventory", CK_SERVICE_INVENTORY, false,
                               "reservation_id"), CK_TYPE_RESERVE_INVENTORY);
    cr_assert_eq (ck_type_add ("Undo", shipping, true, "undo_id"), CK_TYPE_NONE,
                  "a compensation returns no result");
    cr_assert_eq (ck_type_add ("Ship", CK_SERVICE_COUNT + 5, false, NULL), CK_TYPE_NONE);
    char name [16];
    int added = 0;
    for (int i = 0; i < CK_TYPE_MAX; i++) {
        snprintf (name, sizeof name, "Extra%d", i);
        added += ck_type_add (name, shipping, false, NULL) != CK_TYPE_NONE;
    }
    cr_assert_eq (added, CK_TYPE_MAX - CK_TYPE_COUNT, "full at CK_TYPE_MAX");
}

Test (saga_steps, bad_files_are_refused_with_one_line)
{
    cr_assert_eq (saga_def_load ("/nonexistent/steps.zpl", s_error, sizeof s_error), -1);
    cr_assert (strstr (s_error, "cannot read"), "%s", s_error);
    cr_assert_eq (s_load_text ("sage\n    step\n"), -1);
    cr_assert (strstr (s_error, "no 'saga' section"), "%s", s_error);
    cr_assert_eq (s_load_text ("saga\n    step\n        service = inventory\n"
                               "        action = ReserveInventory\n"
                               "        compensation = ReleaseInventory\n"
                               "        kind = undoable\n"), -1);
    cr_assert (strstr (s_error, "step 1: kind must be"), "%s", s_error);
    cr_assert_eq (s_load_text ("saga\n    step\n        service = order\n"
                               "        action = CreateOrder\n        kind = pivot\n"
                               "        fields = cart wishes\n        result = order_id\n"), -1);
    cr_assert (strstr (s_error, "unknown field 'wishes'"), "%s", s_error);
    cr_assert_eq (s_load_text ("saga\n    step\n        service = payment\n"
                               "        action = CreateOrder\n        kind = pivot\n"
                               "        result = order_id\n"), -1);
    cr_assert (strstr (s_error, "action 'CreateOrder'"), "%s", s_error);
    cr_assert_eq (s_load_text ("saga\n    step\n        service = shipping\n"
                               "        action = Ship\n        kind = compensatable\n"), -1);
    cr_assert (strstr (s_error, "a compensation is needed"), "%s", s_error);
    //  a pivot before a compensatable step: not a saga
    cr_assert_eq (s_load_text ("saga\n    step\n        service = order\n"
                               "        action = CreateOrder\n        kind = pivot\n"
                               "        result = order_id\n"
                               "    step\n        service = shipping\n"
                               "        action = Ship\n        compensation = Unship\n"
                               "        kind = compensatable\n"), -1);
    cr_assert (strstr (s_error, "not a valid saga"), "%s", s_error);
    cr_assert_eq (saga_def_active (), saga_def_checkout (), "a refused file changes nothing");
}

Test (saga_steps, too_many_steps_are_refused)
{
    char text [4096] = "saga\n";
    for (int i = 0; i <= CK_MAX_STEPS; i++) {
        char step [160];
        snprintf (step, sizeof step, "    step\n        service = s%d\n        action = Do%d\n"
                  "        compensation = Undo%d\n        kind = compensatable\n", i, i, i);
        strcat (text, step);
    }
    cr_assert_eq (s_load_text (text), -1);
    cr_assert (strstr (s_error, "more than 8 steps"), "%s", s_error);
}

//  An added type's request carries what its row sends; its reply carries
//  the result under the type's key
Test (saga_steps, the_codec_speaks_an_added_type)
{
    s_load_fixture ("steps-shipping.zpl");
    ck_type_t reserve = ck_type_lookup ("ReserveShipping", 15);
    ck_request_t request = { .type = reserve, .attempt = 1, .deadline_ms = 500,
                             .item_count = 1, .ship_to = { "FR" } };
    snprintf (request.saga_id, sizeof request.saga_id, "saga-1");
    snprintf (request.checkout_id, sizeof request.checkout_id, "chk-1");
    snprintf (request.items [0].sku, sizeof request.items [0].sku, "SKU-1");
    request.items [0].qty = 2;
    ck_buf_t body;
    ck_buf_init (&body);
    cr_assert_eq (ck_encode_request (&request, &body), 0);
    ck_request_t decoded;
    ck_decode_error_t err;
    cr_assert_eq (ck_decode_request (body.data, body.size, &decoded, &err), 0, "%s", err.message);
    cr_assert_eq (decoded.type, reserve);
    cr_assert_str_eq (decoded.ship_to.country, "FR");
    cr_assert_eq (decoded.item_count, 1);
    cr_assert_eq (decoded.items [0].qty, 2);
    cr_assert_str_eq (decoded.cart_id, "", "not in the row: not sent");

    ck_reply_t reply = { .type = reserve, .attempt = 1, .outcome = CK_OUTCOME_OK };
    snprintf (reply.saga_id, sizeof reply.saga_id, "saga-1");
    snprintf (reply.result_id, sizeof reply.result_id, "shipment-7");
    cr_assert_eq (ck_encode_reply (&reply, &body), 0);
    char json [512];
    ck_buf_t text;
    ck_buf_init (&text);
    cr_assert_eq (ck_body_to_json (body.data, body.size, &text), 0);
    snprintf (json, sizeof json, "%.*s", (int) text.size, text.data);
    cr_assert (strstr (json, "\"shipment_id\":\"shipment-7\""), "%s", json);
    ck_reply_t back;
    cr_assert_eq (ck_decode_reply (body.data, body.size, &back, &err), 0, "%s", err.message);
    cr_assert_str_eq (back.result_id, "shipment-7");

    //  the same id under another key is not the result
    char *key = memmem (body.data, body.size, "shipment_id", 11);
    cr_assert_not_null (key);
    memcpy (key, "shipment_no", 11);
    cr_assert_eq (ck_decode_reply (body.data, body.size, &back, &err), -1);
    cr_assert (strstr (err.message, "shipment_id: missing"), "%s", err.message);
    reply.result_id [0] = 0;
    cr_assert_eq (ck_encode_reply (&reply, &body), -1, "nor does the encoder send it");
    ck_buf_free (&text);
    ck_buf_free (&body);
}

Test (saga_steps, an_unknown_added_type_is_not_decoded)
{
    //  a process without the table does not know ReserveShipping
    ck_request_t request = { .type = CK_TYPE_RELEASE_INVENTORY, .attempt = 1 };
    snprintf (request.saga_id, sizeof request.saga_id, "saga-1");
    snprintf (request.checkout_id, sizeof request.checkout_id, "chk-1");
    ck_buf_t body;
    ck_buf_init (&body);
    cr_assert_eq (ck_encode_request (&request, &body), 0);
    char *type = memmem (body.data, body.size, "ReleaseInventory", 16);
    cr_assert_not_null (type);
    memcpy (type, "ReleaseShipping!", 16);
    ck_request_t decoded;
    ck_decode_error_t err;
    cr_assert_eq (ck_decode_request (body.data, body.size, &decoded, &err), -1);
    cr_assert (strstr (err.message, "type: unknown value"), "%s", err.message);
    ck_buf_free (&body);
}
