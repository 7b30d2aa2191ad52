/*  test_codec_malformed.c - the codec against malformed and hostile bodies
    A table of bad inputs, each with the error code and the key its message must name.

    Most rows start from a valid encoded sample and change one thing with
    ck_sample_edit (codec_samples.h); rows with base RAW are the bytes of the
    spec alone; a few rows have a builder of their own.  Each row is its own
    Criterion test, named by its index; failures print the row's name.
*/
#define CK_SAMPLES_EDIT
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <time.h>
#include "codec_samples.h"

TestSuite (codec_malformed, .timeout = 30);

//  The valid body a row starts from
typedef enum {
    RAW,                                //  the spec's bytes are the whole body
    CHECKOUT,                           //  W1 checkout k=0 (amount 704)
    STATUS,
    RESULT,                             //  failed, 3 history entries
    ERROR,
    PONG,
    READY,
    RESERVE,                            //  REQUEST ReserveInventory, 3 items
    AUTHORIZE,
    CREATE,                             //  REQUEST CreateOrder, 3 items
    REPLY_OK,                           //  ReserveInventory ok
    REPLY_REJECTED,                     //  CreateOrder rejected
    EV_STEP,
    EV_COMPENSATING,
    EV_WORKER,
    EV_SOCKET,
    EV_STATS                            //  2 workers
} base_t;

typedef struct {
    const char *name;
    ck_sample_kind_t kind;              //  the decoder
    base_t base;
    const char *path;                   //  NULL: no edit
    ck_edit_op_t op;
    const char *spec;                   //  see ck_sample_pack_spec
    void (*build) (msgpack_sbuffer *sb);    //  when not NULL, makes the body
    ck_error_code_t code;               //  CK_OK: the body must decode
    const char *needle;                 //  the message must contain it
} row_t;

//  --------------------------------------------------------------------------
//  Bodies with a builder of their own

//  Encodes the sample of base into out
static void
s_encode_base (base_t base, ck_buf_t *out)
{
    ck_sample_any_t *msg = malloc (sizeof *msg);
    cr_assert_not_null (msg);
    int rc = -1;
    switch (base) {
        case RAW:
            cr_assert_fail ("RAW has no sample");
            break;
        case CHECKOUT:
            ck_sample_w1_checkout (&msg->checkout, 0);
            rc = ck_encode_checkout (&msg->checkout, out);
            break;
        case STATUS:
            ck_sample_status_request (&msg->status_request);
            rc = ck_encode_status_request (&msg->status_request, out);
            break;
        case RESULT:
            ck_sample_result (&msg->result, CK_STATUS_FAILED, 3);
            rc = ck_encode_result (&msg->result, out);
            break;
        case ERROR:
            ck_sample_error (&msg->error, CK_AMOUNT_MISMATCH);
            rc = ck_encode_error (&msg->error, out);
            break;
        case PONG:
            ck_sample_pong (&msg->pong);
            rc = ck_encode_pong (&msg->pong, out);
            break;
        case READY:
            ck_sample_ready (&msg->ready, CK_SERVICE_INVENTORY);
            rc = ck_encode_ready (&msg->ready, out);
            break;
        case RESERVE:
        case AUTHORIZE:
        case CREATE:
            ck_sample_request (&msg->request, base == RESERVE? CK_TYPE_RESERVE_INVENTORY:
                               base == AUTHORIZE? CK_TYPE_AUTHORIZE_PAYMENT:
                               CK_TYPE_CREATE_ORDER, 3);
            rc = ck_encode_request (&msg->request, out);
            break;
        case REPLY_OK:
            ck_sample_reply (&msg->reply, CK_TYPE_RESERVE_INVENTORY, CK_OUTCOME_OK);
            rc = ck_encode_reply (&msg->reply, out);
            break;
        case REPLY_REJECTED:
            ck_sample_reply (&msg->reply, CK_TYPE_CREATE_ORDER, CK_OUTCOME_REJECTED);
            rc = ck_encode_reply (&msg->reply, out);
            break;
        case EV_STEP:
            ck_sample_ev_step (&msg->ev_step, true);
            rc = ck_encode_ev_step (&msg->ev_step, out);
            break;
        case EV_COMPENSATING:
            ck_sample_ev_compensating (&msg->ev_compensating);
            rc = ck_encode_ev_compensating (&msg->ev_compensating, out);
            break;
        case EV_WORKER:
            ck_sample_ev_worker (&msg->ev_worker, true);
            rc = ck_encode_ev_worker (&msg->ev_worker, out);
            break;
        case EV_SOCKET:
            ck_sample_ev_socket (&msg->ev_socket);
            rc = ck_encode_ev_socket (&msg->ev_socket, out);
            break;
        case EV_STATS:
            ck_sample_ev_stats (&msg->ev_stats, 2);
            rc = ck_encode_ev_stats (&msg->ev_stats, out);
            break;
    }
    cr_assert_eq (rc, 0, "the sample of base %d encodes", (int) base);
    free (msg);
}

static void
s_append (msgpack_sbuffer *sb, const void *data, size_t size)
{
    msgpack_sbuffer_write (sb, data, size);
}

//  The W1 checkout with an unknown "pad" key that makes it exactly total
//  bytes long
static void
s_build_padded (msgpack_sbuffer *sb, size_t total)
{
    ck_buf_t body;
    ck_buf_init (&body);
    s_encode_base (CHECKOUT, &body);
    size_t pad = total - body.size;
    for (int tries = 0; tries < 4; tries++) {
        char spec [32];
        snprintf (spec, sizeof spec, "r:%zu:p", pad);
        msgpack_sbuffer_clear (sb);
        cr_assert_eq (ck_sample_edit (body.data, body.size, "pad", CK_EDIT_SET, spec, sb), 0);
        if (sb->size == total)
            break;
        pad += total - sb->size;        //  headers grew: shrink the pad
    }
    cr_assert_eq (sb->size, total, "padded body of %zu bytes", total);
    ck_buf_free (&body);
}

static void
s_build_65_kib (msgpack_sbuffer *sb)
{
    s_build_padded (sb, 65 * 1024);
}

static void
s_build_one_over (msgpack_sbuffer *sb)
{
    s_build_padded (sb, CK_MAX_BODY + 1);
}

static void
s_build_exactly_max (msgpack_sbuffer *sb)
{
    s_build_padded (sb, CK_MAX_BODY);
}

static void
s_build_truncated_by_one (msgpack_sbuffer *sb)
{
    ck_buf_t body;
    ck_buf_init (&body);
    s_encode_base (CHECKOUT, &body);
    s_append (sb, body.data, body.size - 1);
    ck_buf_free (&body);
}

static void
s_build_truncated_in_half (msgpack_sbuffer *sb)
{
    ck_buf_t body;
    ck_buf_init (&body);
    s_encode_base (CHECKOUT, &body);
    s_append (sb, body.data, body.size / 2);
    ck_buf_free (&body);
}

static void
s_build_trailing_nil (msgpack_sbuffer *sb)
{
    ck_buf_t body;
    ck_buf_init (&body);
    s_encode_base (CHECKOUT, &body);
    s_append (sb, body.data, body.size);
    s_append (sb, "\xc0", 1);
    ck_buf_free (&body);
}

static void
s_build_two_maps (msgpack_sbuffer *sb)
{
    ck_buf_t body;
    ck_buf_init (&body);
    s_encode_base (STATUS, &body);
    s_append (sb, body.data, body.size);
    s_append (sb, body.data, body.size);
    ck_buf_free (&body);
}

//  A valid CHECKOUT plus a key "deep" holding levels nested arrays
static void
s_build_nested (msgpack_sbuffer *sb, int levels)
{
    ck_buf_t body;
    ck_buf_init (&body);
    s_encode_base (CHECKOUT, &body);
    char spec [256] = "x:";
    for (int i = 0; i < levels; i++)
        strcat (spec, "91");
    strcat (spec, "c0");
    cr_assert_eq (ck_sample_edit (body.data, body.size, "deep", CK_EDIT_SET, spec, sb), 0);
    ck_buf_free (&body);
}

static void
s_build_nested_40 (msgpack_sbuffer *sb)
{
    s_build_nested (sb, 40);
}

static void
s_build_nested_20 (msgpack_sbuffer *sb)
{
    s_build_nested (sb, 20);
}

//  40 nested maps {"a": {"a": ...}} as the whole body
static void
s_build_nested_maps (msgpack_sbuffer *sb)
{
    for (int i = 0; i < 40; i++)
        s_append (sb, "\x81\xa1" "a", 3);
    s_append (sb, "\xc0", 1);
}

//  The W1 checkout with one more entry whose key is the integer 1
static void
s_build_int_key (msgpack_sbuffer *sb)
{
    ck_buf_t body;
    ck_buf_init (&body);
    s_encode_base (CHECKOUT, &body);
    uint8_t header = (uint8_t) body.data [0];
    cr_assert (header >= 0x80 && header < 0x8f, "the sample is a small fixmap");
    header++;
    s_append (sb, &header, 1);
    s_append (sb, body.data + 1, body.size - 1);
    s_append (sb, "\x01\xa1x", 3);
    ck_buf_free (&body);
}

//  --------------------------------------------------------------------------
//  The table

#define ID65 "r:65:a"

static row_t s_rows [] = {
    //  Wrong types
    { "checkout_id is an integer", CK_SAMPLE_CHECKOUT, CHECKOUT, "checkout_id", CK_EDIT_SET, "u:42", NULL, CK_BAD_REQUEST, "checkout_id: " },
    { "items is a map", CK_SAMPLE_CHECKOUT, CHECKOUT, "items", CK_EDIT_SET, "x:81 a3 73 6b 75 01", NULL, CK_BAD_REQUEST, "items: " },
    { "items[0] is a str", CK_SAMPLE_CHECKOUT, CHECKOUT, "items[0]", CK_EDIT_SET, "s:SKU-0000", NULL, CK_BAD_REQUEST, "items[0]" },
    { "qty is a str", CK_SAMPLE_CHECKOUT, CHECKOUT, "items[1].qty", CK_EDIT_SET, "s:2", NULL, CK_BAD_REQUEST, "items[1].qty: " },
    { "amount is a str", CK_SAMPLE_CHECKOUT, CHECKOUT, "amount", CK_EDIT_SET, "s:704", NULL, CK_BAD_REQUEST, "amount: " },
    { "ack is a str", CK_SAMPLE_CHECKOUT, CHECKOUT, "ack", CK_EDIT_SET, "s:true", NULL, CK_BAD_REQUEST, "ack: " },
    { "ack is nil", CK_SAMPLE_CHECKOUT, CHECKOUT, "ack", CK_EDIT_SET, "n", NULL, CK_BAD_REQUEST, "ack: " },
    { "ship_to is a str", CK_SAMPLE_CHECKOUT, CHECKOUT, "ship_to", CK_EDIT_SET, "s:DE", NULL, CK_BAD_REQUEST, "ship_to: " },
    { "type is an integer", CK_SAMPLE_REQUEST, RESERVE, "type", CK_EDIT_SET, "u:1", NULL, CK_BAD_REQUEST, "type: " },
    { "capacity is a bool", CK_SAMPLE_READY, READY, "capacity", CK_EDIT_SET, "T", NULL, CK_BAD_REQUEST, "capacity: " },
    { "update is a str", CK_SAMPLE_READY, READY, "update", CK_EDIT_SET, "s:true", NULL, CK_BAD_REQUEST, "update: " },
    { "update is an integer", CK_SAMPLE_READY, READY, "update", CK_EDIT_SET, "u:1", NULL, CK_BAD_REQUEST, "update: " },
    { "reason is an array", CK_SAMPLE_REPLY, REPLY_REJECTED, "reason", CK_EDIT_SET, "A:2:x", NULL, CK_BAD_REQUEST, "reason: " },
    //  Negative numbers and floats
    { "negative amount", CK_SAMPLE_CHECKOUT, CHECKOUT, "amount", CK_EDIT_SET, "i:-704", NULL, CK_BAD_REQUEST, "amount: " },
    { "negative qty", CK_SAMPLE_CHECKOUT, CHECKOUT, "items[0].qty", CK_EDIT_SET, "i:-1", NULL, CK_BAD_REQUEST, "items[0].qty: " },
    { "negative attempt", CK_SAMPLE_REQUEST, AUTHORIZE, "attempt", CK_EDIT_SET, "i:-2", NULL, CK_BAD_REQUEST, "attempt: " },
    { "float64 amount", CK_SAMPLE_CHECKOUT, CHECKOUT, "amount", CK_EDIT_SET, "f:704", NULL, CK_BAD_REQUEST, "amount: " },
    { "float64 qty", CK_SAMPLE_CHECKOUT, CHECKOUT, "items[2].qty", CK_EDIT_SET, "f:3.0", NULL, CK_BAD_REQUEST, "items[2].qty: " },
    { "float32 unit_price", CK_SAMPLE_CHECKOUT, CHECKOUT, "items[0].unit_price", CK_EDIT_SET, "x:ca 42c80000", NULL, CK_BAD_REQUEST, "items[0].unit_price: " },
    //  bin where str belongs
    { "checkout_id is bin", CK_SAMPLE_CHECKOUT, CHECKOUT, "checkout_id", CK_EDIT_SET, "b:chk-0", NULL, CK_BAD_REQUEST, "checkout_id: " },
    { "currency is bin", CK_SAMPLE_CHECKOUT, CHECKOUT, "currency", CK_EDIT_SET, "b:EUR", NULL, CK_BAD_REQUEST, "currency: " },
    { "error message is bin", CK_SAMPLE_ERROR, ERROR, "message", CK_EDIT_SET, "b:oops", NULL, CK_BAD_REQUEST, "message: " },
    //  Identifiers
    { "checkout_id of 65 bytes", CK_SAMPLE_CHECKOUT, CHECKOUT, "checkout_id", CK_EDIT_SET, ID65, NULL, CK_BAD_REQUEST, "checkout_id: " },
    { "sku of 65 bytes", CK_SAMPLE_CHECKOUT, CHECKOUT, "items[1].sku", CK_EDIT_SET, "r:65:s", NULL, CK_BAD_REQUEST, "items[1].sku: " },
    { "saga_id of 65 bytes", CK_SAMPLE_REPLY, REPLY_OK, "saga_id", CK_EDIT_SET, ID65, NULL, CK_BAD_REQUEST, "saga_id: " },
    { "reservation_id of 65 bytes", CK_SAMPLE_REPLY, REPLY_OK, "reservation_id", CK_EDIT_SET, ID65, NULL, CK_BAD_REQUEST, "reservation_id: " },
    { "customer_id with a space", CK_SAMPLE_CHECKOUT, CHECKOUT, "customer_id", CK_EDIT_SET, "s:cust 0", NULL, CK_BAD_REQUEST, "customer_id: " },
    { "sku with a slash", CK_SAMPLE_CHECKOUT, CHECKOUT, "items[2].sku", CK_EDIT_SET, "s:SKU/0026", NULL, CK_BAD_REQUEST, "items[2].sku: " },
    { "cart_id not ASCII", CK_SAMPLE_CHECKOUT, CHECKOUT, "cart_id", CK_EDIT_SET, "s:caf\xc3\xa9", NULL, CK_BAD_REQUEST, "cart_id: " },
    { "empty checkout_id", CK_SAMPLE_CHECKOUT, CHECKOUT, "checkout_id", CK_EDIT_SET, "s:", NULL, CK_BAD_REQUEST, "checkout_id: " },
    { "empty payment_method", CK_SAMPLE_CHECKOUT, CHECKOUT, "payment_method", CK_EDIT_SET, "s:", NULL, CK_BAD_REQUEST, "payment_method: " },
    { "instance with a space", CK_SAMPLE_READY, READY, "instance", CK_EDIT_SET, "s:inventory 1", NULL, CK_BAD_REQUEST, "instance: " },
    { "reason.code with a slash", CK_SAMPLE_REPLY, REPLY_REJECTED, "reason.code", CK_EDIT_SET, "s:out/of/stock", NULL, CK_BAD_REQUEST, "reason.code: " },
    { "reason.sku of 65 bytes", CK_SAMPLE_REPLY, REPLY_REJECTED, "reason.sku", CK_EDIT_SET, ID65, NULL, CK_BAD_REQUEST, "reason.sku: " },
    //  Counts and ranges
    { "0 items", CK_SAMPLE_CHECKOUT, CHECKOUT, "items", CK_EDIT_SET, "x:90", NULL, CK_BAD_REQUEST, "items: " },
    { "101 items", CK_SAMPLE_CHECKOUT, CHECKOUT, "items", CK_EDIT_SET, "I:101", NULL, CK_BAD_REQUEST, "items: " },
    { "qty 0", CK_SAMPLE_CHECKOUT, CHECKOUT, "items[0].qty", CK_EDIT_SET, "u:0", NULL, CK_BAD_REQUEST, "items[0].qty: " },
    { "qty 10001", CK_SAMPLE_CHECKOUT, CHECKOUT, "items[0].qty", CK_EDIT_SET, "u:10001", NULL, CK_BAD_REQUEST, "items[0].qty: " },
    { "qty 2^32 + 1 (would wrap in 32 bits)", CK_SAMPLE_CHECKOUT, CHECKOUT, "items[0].qty", CK_EDIT_SET, "u:4294967297", NULL, CK_BAD_REQUEST, "items[0].qty: " },
    { "unit_price 10^9 + 1", CK_SAMPLE_CHECKOUT, CHECKOUT, "items[1].unit_price", CK_EDIT_SET, "u:1000000001", NULL, CK_BAD_REQUEST, "items[1].unit_price: " },
    { "ReserveInventory with 0 items", CK_SAMPLE_REQUEST, RESERVE, "items", CK_EDIT_SET, "x:90", NULL, CK_BAD_REQUEST, "items: " },
    { "ReserveInventory qty 0", CK_SAMPLE_REQUEST, RESERVE, "items[2].qty", CK_EDIT_SET, "u:0", NULL, CK_BAD_REQUEST, "items[2].qty: " },
    { "attempt 0", CK_SAMPLE_REQUEST, AUTHORIZE, "attempt", CK_EDIT_SET, "u:0", NULL, CK_BAD_REQUEST, "attempt: " },
    { "capacity 0", CK_SAMPLE_READY, READY, "capacity", CK_EDIT_SET, "u:0", NULL, CK_BAD_REQUEST, "capacity: " },
    { "capacity 1025", CK_SAMPLE_READY, READY, "capacity", CK_EDIT_SET, "u:1025", NULL, CK_BAD_REQUEST, "capacity: " },
    { "worker capacity 2000", CK_SAMPLE_EV_WORKER, EV_WORKER, "capacity", CK_EDIT_SET, "u:2000", NULL, CK_BAD_REQUEST, "capacity: " },
    { "stats worker capacity 0", CK_SAMPLE_EV_STATS, EV_STATS, "workers[1].capacity", CK_EDIT_SET, "u:0", NULL, CK_BAD_REQUEST, "workers[1].capacity: " },
    { "9 compensated steps", CK_SAMPLE_RESULT, RESULT, "compensated", CK_EDIT_SET, "A:9:payment", NULL, CK_BAD_REQUEST, "compensated: " },
    { "compensating without steps", CK_SAMPLE_EV_COMPENSATING, EV_COMPENSATING, "steps", CK_EDIT_SET, "x:90", NULL, CK_BAD_REQUEST, "steps: " },
    //  Sums
    { "amount mismatch", CK_SAMPLE_CHECKOUT, CHECKOUT, "amount", CK_EDIT_SET, "u:705", NULL, CK_AMOUNT_MISMATCH, "amount" },
    { "amount 0 for a priced cart", CK_SAMPLE_CHECKOUT, CHECKOUT, "amount", CK_EDIT_SET, "u:0", NULL, CK_AMOUNT_MISMATCH, "amount" },
    { "CreateOrder amount mismatch", CK_SAMPLE_REQUEST, CREATE, "amount", CK_EDIT_SET, "u:1", NULL, CK_AMOUNT_MISMATCH, "amount" },
    { "bad type beats amount mismatch", CK_SAMPLE_CHECKOUT, CHECKOUT, "items[1].qty", CK_EDIT_SET, "s:1", NULL, CK_BAD_REQUEST, "items[1].qty: " },
    //  Letters
    { "currency eur", CK_SAMPLE_CHECKOUT, CHECKOUT, "currency", CK_EDIT_SET, "s:eur", NULL, CK_BAD_REQUEST, "currency: " },
    { "currency EURO", CK_SAMPLE_CHECKOUT, CHECKOUT, "currency", CK_EDIT_SET, "s:EURO", NULL, CK_BAD_REQUEST, "currency: " },
    { "country D", CK_SAMPLE_CHECKOUT, CHECKOUT, "ship_to.country", CK_EDIT_SET, "s:D", NULL, CK_BAD_REQUEST, "ship_to.country: " },
    { "country de", CK_SAMPLE_CHECKOUT, CHECKOUT, "ship_to.country", CK_EDIT_SET, "s:de", NULL, CK_BAD_REQUEST, "ship_to.country: " },
    { "CreateOrder country D1", CK_SAMPLE_REQUEST, CREATE, "ship_to.country", CK_EDIT_SET, "s:D1", NULL, CK_BAD_REQUEST, "ship_to.country: " },
    //  Missing keys
    { "missing checkout_id", CK_SAMPLE_CHECKOUT, CHECKOUT, "checkout_id", CK_EDIT_DELETE, NULL, NULL, CK_BAD_REQUEST, "checkout_id: missing" },
    { "missing items[1].sku", CK_SAMPLE_CHECKOUT, CHECKOUT, "items[1].sku", CK_EDIT_DELETE, NULL, NULL, CK_BAD_REQUEST, "items[1].sku: missing" },
    { "missing ship_to.country", CK_SAMPLE_CHECKOUT, CHECKOUT, "ship_to.country", CK_EDIT_DELETE, NULL, NULL, CK_BAD_REQUEST, "ship_to.country: missing" },
    { "missing status checkout_id", CK_SAMPLE_STATUS_REQUEST, STATUS, "checkout_id", CK_EDIT_DELETE, NULL, NULL, CK_BAD_REQUEST, "checkout_id: missing" },
    { "missing instance", CK_SAMPLE_READY, READY, "instance", CK_EDIT_DELETE, NULL, NULL, CK_BAD_REQUEST, "instance: missing" },
    { "ReserveInventory without items", CK_SAMPLE_REQUEST, RESERVE, "items", CK_EDIT_DELETE, NULL, NULL, CK_BAD_REQUEST, "items: missing" },
    { "AuthorizePayment without payment_method", CK_SAMPLE_REQUEST, AUTHORIZE, "payment_method", CK_EDIT_DELETE, NULL, NULL, CK_BAD_REQUEST, "payment_method: missing" },
    { "CreateOrder without authorization_id", CK_SAMPLE_REQUEST, CREATE, "authorization_id", CK_EDIT_DELETE, NULL, NULL, CK_BAD_REQUEST, "authorization_id: missing" },
    { "CreateOrder items without unit_price", CK_SAMPLE_REQUEST, CREATE, "items[0].unit_price", CK_EDIT_DELETE, NULL, NULL, CK_BAD_REQUEST, "items[0].unit_price: missing" },
    { "REQUEST without deadline_ms", CK_SAMPLE_REQUEST, RESERVE, "deadline_ms", CK_EDIT_DELETE, NULL, NULL, CK_BAD_REQUEST, "deadline_ms: missing" },
    { "REPLY without outcome", CK_SAMPLE_REPLY, REPLY_OK, "outcome", CK_EDIT_DELETE, NULL, NULL, CK_BAD_REQUEST, "outcome: missing" },
    { "history entry without event", CK_SAMPLE_RESULT, RESULT, "history[1].event", CK_EDIT_DELETE, NULL, NULL, CK_BAD_REQUEST, "history[1].event: missing" },
    //  Duplicates
    { "duplicate checkout_id", CK_SAMPLE_CHECKOUT, CHECKOUT, "checkout_id", CK_EDIT_DUPLICATE, NULL, NULL, CK_BAD_REQUEST, "checkout_id: " },
    { "duplicate qty in an item", CK_SAMPLE_CHECKOUT, CHECKOUT, "items[0].qty", CK_EDIT_DUPLICATE, NULL, NULL, CK_BAD_REQUEST, "items[0].qty: " },
    { "duplicate v", CK_SAMPLE_CHECKOUT, CHECKOUT, "v", CK_EDIT_DUPLICATE, NULL, NULL, CK_BAD_REQUEST, "v: " },
    //  Versions
    { "v 2.0.0", CK_SAMPLE_CHECKOUT, CHECKOUT, "v", CK_EDIT_SET, "s:2.0.0", NULL, CK_UNSUPPORTED_VERSION, "v: " },
    { "v 0.9.1", CK_SAMPLE_READY, READY, "v", CK_EDIT_SET, "s:0.9.1", NULL, CK_UNSUPPORTED_VERSION, "v: " },
    { "v 2.0.0 in a REQUEST", CK_SAMPLE_REQUEST, RESERVE, "v", CK_EDIT_SET, "s:2.0.0", NULL, CK_UNSUPPORTED_VERSION, "v: " },
    { "v banana", CK_SAMPLE_CHECKOUT, CHECKOUT, "v", CK_EDIT_SET, "s:banana", NULL, CK_BAD_REQUEST, "v: " },
    { "v 1.0", CK_SAMPLE_CHECKOUT, CHECKOUT, "v", CK_EDIT_SET, "s:1.0", NULL, CK_BAD_REQUEST, "v: " },
    { "v 1.0.0.0", CK_SAMPLE_CHECKOUT, CHECKOUT, "v", CK_EDIT_SET, "s:1.0.0.0", NULL, CK_BAD_REQUEST, "v: " },
    { "v is an integer", CK_SAMPLE_CHECKOUT, CHECKOUT, "v", CK_EDIT_SET, "u:1", NULL, CK_BAD_REQUEST, "v: " },
    //  Vocabularies
    { "unknown service in READY", CK_SAMPLE_READY, READY, "service", CK_EDIT_SET, "s:shipping", NULL, CK_BAD_REQUEST, "service: " },
    { "unknown request type", CK_SAMPLE_REQUEST, RESERVE, "type", CK_EDIT_SET, "s:ShipParcel", NULL, CK_BAD_REQUEST, "type: " },
    { "request type in lower case", CK_SAMPLE_REQUEST, RESERVE, "type", CK_EDIT_SET, "s:reserveinventory", NULL, CK_BAD_REQUEST, "type: " },
    { "REPLY outcome timeout", CK_SAMPLE_REPLY, REPLY_OK, "outcome", CK_EDIT_SET, "s:timeout", NULL, CK_BAD_REQUEST, "outcome: " },
    { "REPLY outcome maybe", CK_SAMPLE_REPLY, REPLY_OK, "outcome", CK_EDIT_SET, "s:maybe", NULL, CK_BAD_REQUEST, "outcome: " },
    { "ERROR code teapot", CK_SAMPLE_ERROR, ERROR, "code", CK_EDIT_SET, "s:teapot", NULL, CK_BAD_REQUEST, "code: " },
    { "RESULT status done", CK_SAMPLE_RESULT, RESULT, "status", CK_EDIT_SET, "s:done", NULL, CK_BAD_REQUEST, "status: " },
    { "step event outcome late", CK_SAMPLE_EV_STEP, EV_STEP, "outcome", CK_EDIT_SET, "s:late", NULL, CK_BAD_REQUEST, "outcome: " },
    //  REPLY rules
    { "REPLY rejected without reason", CK_SAMPLE_REPLY, REPLY_REJECTED, "reason", CK_EDIT_DELETE, NULL, NULL, CK_BAD_REQUEST, "reason" },
    { "REPLY rejected with an empty reason", CK_SAMPLE_REPLY, REPLY_REJECTED, "reason", CK_EDIT_SET, "x:80", NULL, CK_BAD_REQUEST, "reason.code: missing" },
    { "REPLY ok without reservation_id", CK_SAMPLE_REPLY, REPLY_OK, "reservation_id", CK_EDIT_DELETE, NULL, NULL, CK_BAD_REQUEST, "reservation_id" },
    //  Text
    { "invalid UTF-8 in an error message", CK_SAMPLE_ERROR, ERROR, "message", CK_EDIT_SET, "x:a4 61 c3 28 62", NULL, CK_BAD_REQUEST, "message: " },
    { "overlong UTF-8 in reason.message", CK_SAMPLE_REPLY, REPLY_REJECTED, "reason.message", CK_EDIT_SET, "x:a2 c0 af", NULL, CK_BAD_REQUEST, "reason.message: " },
    { "UTF-16 surrogate in reason.message", CK_SAMPLE_REPLY, REPLY_REJECTED, "reason.message", CK_EDIT_SET, "x:a3 ed a0 80", NULL, CK_BAD_REQUEST, "reason.message: " },
    { "UTF-8 cut short at the end", CK_SAMPLE_ERROR, ERROR, "message", CK_EDIT_SET, "x:a3 61 e2 82", NULL, CK_BAD_REQUEST, "message: " },
    { "NUL inside a message", CK_SAMPLE_ERROR, ERROR, "message", CK_EDIT_SET, "x:a3 61 00 62", NULL, CK_BAD_REQUEST, "message: " },
    { "error message of 257 bytes", CK_SAMPLE_ERROR, ERROR, "message", CK_EDIT_SET, "r:257:m", NULL, CK_BAD_REQUEST, "message: " },
    { "socket name of 33 bytes", CK_SAMPLE_EV_SOCKET, EV_SOCKET, "socket", CK_EDIT_SET, "r:33:s", NULL, CK_BAD_REQUEST, "socket: " },
    { "empty pong version", CK_SAMPLE_PONG, PONG, "version", CK_EDIT_SET, "s:", NULL, CK_BAD_REQUEST, "version: " },
    //  Keys
    { "a key that is an integer", CK_SAMPLE_CHECKOUT, RAW, NULL, CK_EDIT_SET, NULL, s_build_int_key, CK_BAD_REQUEST, "not a str" },
    { "a key that is bin", CK_SAMPLE_STATUS_REQUEST, RAW, NULL, CK_EDIT_SET, "x:81 c4 0b 63 68 65 63 6b 6f 75 74 5f 69 64 a1 78", NULL, CK_BAD_REQUEST, "not a str" },
    //  Size
    { "65 KiB body", CK_SAMPLE_CHECKOUT, RAW, NULL, CK_EDIT_SET, NULL, s_build_65_kib, CK_TOO_LARGE, "body" },
    { "65537-byte body", CK_SAMPLE_CHECKOUT, RAW, NULL, CK_EDIT_SET, NULL, s_build_one_over, CK_TOO_LARGE, "body" },
    { "65536-byte body is not too large", CK_SAMPLE_CHECKOUT, RAW, NULL, CK_EDIT_SET, NULL, s_build_exactly_max, CK_OK, NULL },
    //  Structure
    { "empty body", CK_SAMPLE_CHECKOUT, RAW, NULL, CK_EDIT_SET, "x:", NULL, CK_BAD_REQUEST, "body" },
    { "truncated by one byte", CK_SAMPLE_CHECKOUT, RAW, NULL, CK_EDIT_SET, NULL, s_build_truncated_by_one, CK_BAD_REQUEST, "truncated" },
    { "truncated in half", CK_SAMPLE_CHECKOUT, RAW, NULL, CK_EDIT_SET, NULL, s_build_truncated_in_half, CK_BAD_REQUEST, "body: " },
    { "str32 claiming 4 GB", CK_SAMPLE_CHECKOUT, RAW, NULL, CK_EDIT_SET, "x:81 a1 78 db ffffffff 61", NULL, CK_BAD_REQUEST, "truncated" },
    { "40 nested arrays", CK_SAMPLE_CHECKOUT, RAW, NULL, CK_EDIT_SET, NULL, s_build_nested_40, CK_BAD_REQUEST, "nested" },
    { "20 nested arrays", CK_SAMPLE_CHECKOUT, RAW, NULL, CK_EDIT_SET, NULL, s_build_nested_20, CK_BAD_REQUEST, "nested" },
    { "40 nested maps", CK_SAMPLE_CHECKOUT, RAW, NULL, CK_EDIT_SET, NULL, s_build_nested_maps, CK_BAD_REQUEST, "nested" },
    { "body is an array", CK_SAMPLE_CHECKOUT, RAW, NULL, CK_EDIT_SET, "x:93 01 02 03", NULL, CK_BAD_REQUEST, "not a msgpack map" },
    { "body is an integer", CK_SAMPLE_READY, RAW, NULL, CK_EDIT_SET, "x:2a", NULL, CK_BAD_REQUEST, "not a msgpack map" },
    { "body is a str", CK_SAMPLE_REPLY, RAW, NULL, CK_EDIT_SET, "x:a3 61 62 63", NULL, CK_BAD_REQUEST, "not a msgpack map" },
    { "body is nil", CK_SAMPLE_REQUEST, RAW, NULL, CK_EDIT_SET, "x:c0", NULL, CK_BAD_REQUEST, "not a msgpack map" },
    { "trailing nil after the map", CK_SAMPLE_CHECKOUT, RAW, NULL, CK_EDIT_SET, NULL, s_build_trailing_nil, CK_BAD_REQUEST, "trailing" },
    { "two maps in one body", CK_SAMPLE_STATUS_REQUEST, RAW, NULL, CK_EDIT_SET, NULL, s_build_two_maps, CK_BAD_REQUEST, "trailing" },
    { "map32 claiming 10 million entries", CK_SAMPLE_CHECKOUT, RAW, NULL, CK_EDIT_SET, "x:df 00989680", NULL, CK_BAD_REQUEST, "claims" },
    { "array32 claiming 2^32-1 items", CK_SAMPLE_CHECKOUT, RAW, NULL, CK_EDIT_SET, "x:81 a5 6974656d73 dd ffffffff", NULL, CK_BAD_REQUEST, "claims" },
    { "map16 claiming 1000 entries", CK_SAMPLE_STATUS_REQUEST, RAW, NULL, CK_EDIT_SET, "x:de 03e8 a1 61 01", NULL, CK_BAD_REQUEST, "claims" },
    { "reserved byte 0xc1", CK_SAMPLE_CHECKOUT, RAW, NULL, CK_EDIT_SET, "x:81 a1 61 c1", NULL, CK_BAD_REQUEST, "body" },
};

#define ROW_COUNT (sizeof s_rows / sizeof s_rows [0])
_Static_assert (ROW_COUNT >= 45, "at least 45 malformed inputs");

//  Builds the body of a row into sb
static void
s_build_row (const row_t *row, msgpack_sbuffer *sb)
{
    if (row->build) {
        row->build (sb);
        return;
    }
    if (row->base == RAW) {
        msgpack_packer pk;
        msgpack_packer_init (&pk, sb, msgpack_sbuffer_write);
        ck_sample_pack_spec (&pk, row->spec);
        return;
    }
    ck_buf_t body;
    ck_buf_init (&body);
    s_encode_base (row->base, &body);
    cr_assert_eq (ck_sample_edit (body.data, body.size, row->path, row->op, row->spec, sb), 0,
                  "%s: path %s fits the sample", row->name, row->path);
    ck_buf_free (&body);
}

//  Parameters are row indexes: each test finds its row in its own process
ParameterizedTestParameters (codec_malformed, table)
{
    static size_t indexes [ROW_COUNT];
    for (size_t i = 0; i < ROW_COUNT; i++)
        indexes [i] = i;
    return cr_make_param_array (size_t, indexes, ROW_COUNT);
}

ParameterizedTest (size_t *index, codec_malformed, table)
{
    const row_t *row = &s_rows [*index];
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    s_build_row (row, &sb);

    ck_sample_any_t *msg = malloc (sizeof *msg);
    ck_decode_error_t err;
    memset (&err, 0x5a, sizeof err);
    const ck_sample_codec_t *codec = ck_sample_codec (row->kind);
    int rc = codec->decode (sb.data, sb.size, msg, &err);
    if (row->code == CK_OK)
        cr_expect_eq (rc, 0, "row %zu '%s': refused: %s", *index, row->name, err.message);
    else
    if (rc != -1)
        cr_expect_fail ("row %zu '%s': the %s decoder accepted it", *index, row->name,
                        codec->name);
    else {
        cr_expect_eq (err.code, row->code, "row %zu '%s': code %s, expected %s (%s)",
                      *index, row->name, ck_error_code_name (err.code),
                      ck_error_code_name (row->code), err.message);
        bool terminated = memchr (err.message, 0, sizeof err.message) != NULL;
        cr_expect (terminated, "row %zu '%s': message not terminated", *index, row->name);
        cr_expect (terminated && strstr (err.message, row->needle),
                   "row %zu '%s': message '%s' does not contain '%s'",
                   *index, row->name, err.message, row->needle);
    }
    free (msg);
    msgpack_sbuffer_destroy (&sb);
}

//  --------------------------------------------------------------------------
//  Beyond the table

static double
s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

//  msgpack-c alone reserves ~480 MB for this 5-byte claim; the codec must
//  refuse it from the header, at once
Test (codec_malformed, huge_claims_are_refused_quickly)
{
    const uint8_t map32 [] = { 0xdf, 0x00, 0x98, 0x96, 0x80 };
    const uint8_t array32 [] = { 0x81, 0xa5, 'i', 't', 'e', 'm', 's', 0xdd, 0xff, 0xff, 0xff, 0xff };
    ck_sample_any_t *msg = malloc (sizeof *msg);
    for (int kind = 0; kind < CK_SAMPLE_KIND_COUNT; kind++) {
        const ck_sample_codec_t *codec = ck_sample_codec ((ck_sample_kind_t) kind);
        ck_decode_error_t err;
        double start = s_now_ms ();
        int rc_map = codec->decode (map32, sizeof map32, msg, &err);
        int rc_array = codec->decode (array32, sizeof array32, msg, &err);
        double elapsed = s_now_ms () - start;
        cr_expect_eq (rc_map, -1, "%s accepted the map32 claim", codec->name);
        cr_expect_eq (rc_array, -1, "%s accepted the array32 claim", codec->name);
        cr_expect_lt (elapsed, 50.0, "%s took %.1f ms on the claims", codec->name, elapsed);
    }
    free (msg);
}

//  Every decoder refuses bodies that are not one well-formed map, and the
//  JSON renderer too
Test (codec_malformed, every_decoder_refuses_structural_garbage)
{
    for (size_t i = 0; i < ROW_COUNT; i++) {
        const row_t *row = &s_rows [i];
        if (row->base != RAW || row->code != CK_BAD_REQUEST || strcmp (row->needle, "not a str") == 0)
            continue;
        msgpack_sbuffer sb;
        msgpack_sbuffer_init (&sb);
        s_build_row (row, &sb);
        ck_sample_any_t *msg = malloc (sizeof *msg);
        for (int kind = 0; kind < CK_SAMPLE_KIND_COUNT; kind++) {
            const ck_sample_codec_t *codec = ck_sample_codec ((ck_sample_kind_t) kind);
            ck_decode_error_t err;
            cr_expect_eq (codec->decode (sb.data, sb.size, msg, &err), -1,
                          "'%s' accepted by %s", row->name, codec->name);
            cr_expect_eq (err.code, CK_BAD_REQUEST, "'%s' by %s: %s", row->name,
                          codec->name, err.message);
        }
        ck_buf_t json;
        ck_buf_init (&json);
        cr_expect_eq (ck_body_to_json (sb.data, sb.size, &json), -1,
                      "'%s' rendered as JSON", row->name);
        ck_buf_free (&json);
        free (msg);
        msgpack_sbuffer_destroy (&sb);
    }
}

//  Decodes a ReserveInventory REQUEST edited at path
static int
s_decode_bad_request (const char *path, ck_edit_op_t op, const char *spec,
                      ck_request_t *msg, ck_decode_error_t *err)
{
    ck_buf_t body;
    ck_buf_init (&body);
    s_encode_base (RESERVE, &body);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    cr_assert_eq (ck_sample_edit (body.data, body.size, path, op, spec, &sb), 0);
    memset (msg, 0x5a, sizeof *msg);
    int rc = ck_decode_request (sb.data, sb.size, msg, err);
    msgpack_sbuffer_destroy (&sb);
    ck_buf_free (&body);
    return rc;
}

//  A participant answers a bad REQUEST with an error REPLY: it needs the
//  saga_id, type and attempt whenever those keys were valid
Test (codec_malformed, bad_request_keeps_its_address)
{
    ck_request_t *msg = malloc (sizeof *msg);
    ck_decode_error_t err;
    cr_assert_eq (s_decode_bad_request ("items[1].qty", CK_EDIT_SET, "u:0", msg, &err), -1);
    cr_expect_str_eq (msg->saga_id, "saga-01HZX3");
    cr_expect_eq (msg->type, CK_TYPE_RESERVE_INVENTORY);
    cr_expect_eq (msg->attempt, 2);
    cr_expect_eq (msg->item_count, 0, "nothing else is kept");

    //  a bad saga_id: the rest of the address is still there
    cr_assert_eq (s_decode_bad_request ("saga_id", CK_EDIT_SET, "s:bad id", msg, &err), -1);
    cr_expect_str_eq (msg->saga_id, "");
    cr_expect_eq (msg->type, CK_TYPE_RESERVE_INVENTORY);
    cr_expect_eq (msg->attempt, 2);

    //  an unknown type: saga_id and attempt survive
    cr_assert_eq (s_decode_bad_request ("type", CK_EDIT_SET, "s:ShipParcel", msg, &err), -1);
    cr_expect (strstr (err.message, "type: ") != NULL, "message: %s", err.message);
    cr_expect_str_eq (msg->saga_id, "saga-01HZX3");
    cr_expect_eq (msg->type, CK_TYPE_NONE);
    cr_expect_eq (msg->attempt, 2);
    free (msg);
}

typedef struct {
    const char *path;
    ck_edit_op_t op;
    const char *spec;
} edit_t;

//  Applies edits in order to the W1 CHECKOUT and decodes the result
static int
s_decode_edited_checkout (const edit_t *edits, size_t count, ck_decode_error_t *err)
{
    ck_buf_t body;
    ck_buf_init (&body);
    s_encode_base (CHECKOUT, &body);
    msgpack_sbuffer current;
    msgpack_sbuffer_init (&current);
    msgpack_sbuffer_write (&current, body.data, body.size);
    for (size_t i = 0; i < count; i++) {
        msgpack_sbuffer next;
        msgpack_sbuffer_init (&next);
        cr_assert_eq (ck_sample_edit (current.data, current.size, edits [i].path,
                                      edits [i].op, edits [i].spec, &next), 0);
        msgpack_sbuffer_destroy (&current);
        current = next;
    }
    ck_checkout_t *msg = malloc (sizeof *msg);
    int rc = ck_decode_checkout (current.data, current.size, msg, err);
    free (msg);
    msgpack_sbuffer_destroy (&current);
    ck_buf_free (&body);
    return rc;
}

//  The coordinator's ERROR for a bad CHECKOUT names its checkout_id
//  whenever that key was valid, so that a client can tell which request it
//  answers
Test (codec_malformed, bad_checkout_keeps_its_checkout_id)
{
    struct {
        const char *path, *spec, *checkout_id;
    } cases [] = {
        { "items[1].qty", "u:0", "chk-0" },
        { "amount", "s:704", "chk-0" },
        { "ship_to", "u:1", "chk-0" },
        { "checkout_id", "s:bad id", "" },
        { "checkout_id", "u:7", "" },
    };
    ck_buf_t body;
    ck_buf_init (&body);
    s_encode_base (CHECKOUT, &body);
    ck_checkout_t *msg = malloc (sizeof *msg);
    cr_assert_not_null (msg);
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init (&sb);
        cr_assert_eq (ck_sample_edit (body.data, body.size, cases [i].path, CK_EDIT_SET,
                                      cases [i].spec, &sb), 0);
        memset (msg, 0x5a, sizeof *msg);
        ck_decode_error_t err;
        cr_expect_eq (ck_decode_checkout (sb.data, sb.size, msg, &err), -1, "%s", cases [i].path);
        cr_expect_str_eq (msg->checkout_id, cases [i].checkout_id, "%s", cases [i].path);
        msgpack_sbuffer_destroy (&sb);
    }
    free (msg);
    ck_buf_free (&body);
}

//  A body of another major version fails as unsupported_version, wherever
//  its "v" is, not with whatever its unfamiliar keys trip over first
Test (codec_malformed, version_is_checked_before_other_keys)
{
    const edit_t bad_key_then_v [] = {
        { "v", CK_EDIT_DELETE, NULL },
        { "checkout_id", CK_EDIT_SET, "u:42" },
        { "v", CK_EDIT_SET, "s:2.0.0" }             //  appended: the last key
    };
    ck_decode_error_t err;
    cr_assert_eq (s_decode_edited_checkout (bad_key_then_v, 3, &err), -1);
    cr_expect_eq (err.code, CK_UNSUPPORTED_VERSION, "%s", err.message);

    const edit_t mismatch_and_v [] = {
        { "amount", CK_EDIT_SET, "u:1" },
        { "v", CK_EDIT_SET, "s:3.1.4" }
    };
    cr_assert_eq (s_decode_edited_checkout (mismatch_and_v, 2, &err), -1);
    cr_expect_eq (err.code, CK_UNSUPPORTED_VERSION, "%s", err.message);

    const edit_t missing_key_then_banana [] = {
        { "v", CK_EDIT_DELETE, NULL },
        { "cart_id", CK_EDIT_DELETE, NULL },
        { "v", CK_EDIT_SET, "s:banana" }
    };
    cr_assert_eq (s_decode_edited_checkout (missing_key_then_banana, 3, &err), -1);
    cr_expect_eq (err.code, CK_BAD_REQUEST, "%s", err.message);
}

Test (codec_malformed, failed_decode_leaves_no_stale_fields)
{
    //  A failed decode of a CHECKOUT must not leave the previous message's
    //  values behind for a careless caller
    ck_checkout_t *msg = malloc (sizeof *msg);
    ck_sample_w1_checkout (msg, 9);
    const uint8_t not_map [] = { 0x93, 0x01, 0x02, 0x03 };
    ck_decode_error_t err;
    cr_assert_eq (ck_decode_checkout (not_map, sizeof not_map, msg, &err), -1);
    cr_expect_str_eq (msg->checkout_id, "");
    cr_expect_eq (msg->item_count, 0);
    free (msg);
}

Test (codec_malformed, null_body_of_size_zero_is_refused)
{
    ck_status_request_t msg;
    ck_decode_error_t err;
    cr_expect_eq (ck_decode_status_request (NULL, 0, &msg, &err), -1);
    cr_expect_eq (err.code, CK_BAD_REQUEST);
}
