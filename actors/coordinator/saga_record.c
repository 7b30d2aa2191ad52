/*  saga_record.c - private to the saga log: a saga as the blobs of its row
    Encoding with msgpack-c's packer; decoding after the codec's scan.
*/
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <msgpack.h>
#include "saga_record.h"

//  Fields of the state array, in order
enum {
    S_WAIT, S_STUCK, S_STEP, S_FAILED_STEP, S_COMP_STEPS, S_COMP_INDEX, S_TYPE,
    S_ATTEMPT, S_COUNTED, S_ACCEPTED_US, S_ELAPSED_US, S_DEADLINE_US, S_RESULTS,
    S_REASON, S_FIELDS
};

//  Fields of a history entry array, in order
enum { H_AT_MS, H_EVENT, H_STEP, H_TYPE, H_ATTEMPT, H_OUTCOME, H_REASON, H_FIELDS };

//  The history a saga keeps: its first and last HISTORY_KEPT entries
#define HISTORY_KEPT (CK_MAX_HISTORY / 2)

//  The packer's sink: appends to a ck_buf_t
static int
s_write (void *data, const char *bytes, size_t size)
{
    ck_buf_t *out = (ck_buf_t *) data;
    if (size == 0)
        return 0;                       //  bytes may be NULL then
    if (out->size + size > out->capacity) {
        size_t capacity = out->capacity? out->capacity: 256;
        while (capacity < out->size + size)
            capacity *= 2;
        char *grown = (char *) realloc (out->data, capacity);
        if (!grown)
            return -1;
        out->data = grown;
        out->capacity = capacity;
    }
    memcpy (out->data + out->size, bytes, size);
    out->size += size;
    return 0;
}

//  A string; NULL or "" as nil when optional
static int
s_pack_text (msgpack_packer *pk, const char *text)
{
    if (!text || !*text)
        return msgpack_pack_nil (pk);
    size_t size = strlen (text);
    return msgpack_pack_str (pk, size) || msgpack_pack_str_body (pk, text, size);
}

//  A reason as [code, message, sku], or nil when absent (NULL)
static int
s_pack_reason (msgpack_packer *pk, const ck_reason_t *reason)
{
    if (!reason)
        return msgpack_pack_nil (pk);
    return msgpack_pack_array (pk, 3)
        || s_pack_text (pk, reason->code)
        || s_pack_text (pk, reason->message)
        || s_pack_text (pk, reason->sku);
}

static int
s_pack_entry (msgpack_packer *pk, const ck_history_entry_t *entry)
{
    return msgpack_pack_array (pk, H_FIELDS)
        || msgpack_pack_uint64 (pk, entry->at_ms)
        || s_pack_text (pk, entry->event)
        || s_pack_text (pk, ck_service_name (entry->step))
        || s_pack_text (pk, ck_type_name (entry->type))
        || msgpack_pack_uint32 (pk, entry->attempt)
        || s_pack_text (pk, ck_outcome_name (entry->outcome))
        || s_pack_reason (pk, entry->reason.code [0]? &entry->reason: NULL);
}


//  The cart as a CHECKOUT body; 0 or -1.

int
saga_record_cart (const saga_t *saga, ck_buf_t *out)
{
    assert (saga && out);
    ck_checkout_t *checkout = (ck_checkout_t *) calloc (1, sizeof (ck_checkout_t));
    if (!checkout)
        return -1;
    memcpy (checkout->checkout_id, saga->checkout_id, CK_ID_SIZE);
    memcpy (checkout->cart_id, saga->cart_id, CK_ID_SIZE);
    memcpy (checkout->customer_id, saga->customer_id, CK_ID_SIZE);
    memcpy (checkout->payment_method, saga->payment_method, CK_ID_SIZE);
    memcpy (checkout->currency, saga->currency, sizeof checkout->currency);
    checkout->ship_to = saga->ship_to;
    checkout->amount = saga->amount;
    memcpy (checkout->items, saga->items, saga->item_count * sizeof (ck_item_t));
    checkout->item_count = saga->item_count;
    int rc = ck_encode_checkout (checkout, out);
    free (checkout);
    return rc;
}

//  Byte offset of entry index in an encoded history; -1 when it is cut
static long
s_entry_offset (const char *data, size_t size, uint32_t index)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    for (uint32_t at = 0; at < index; at++)
        if (msgpack_unpack_next (&unpacked, data, size, &offset) != MSGPACK_UNPACK_SUCCESS) {
            msgpack_unpacked_destroy (&unpacked);
            return -1;
        }
    msgpack_unpacked_destroy (&unpacked);
    return (long) offset;
}

//  Drops entries from the middle until the saga keeps 2 * HISTORY_KEPT:
//  its start says what happened, its end where it stands
static void
s_prune (saga_t *saga)
{
    if (saga->history_kept <= 2 * HISTORY_KEPT)
        return;
    uint32_t drop = saga->history_kept - 2 * HISTORY_KEPT;
    long from = s_entry_offset (saga->history, saga->history_size, HISTORY_KEPT);
    long to = s_entry_offset (saga->history, saga->history_size, HISTORY_KEPT + drop);
    assert (from >= 0 && to >= from);   //  we wrote it
    memmove (saga->history + from, saga->history + to, saga->history_size - (size_t) to);
    saga->history_size -= (size_t) (to - from);
    saga->history_kept -= drop;
}


//  Appends entries to the saga's history; 0 or -1.

int
saga_record_append (saga_t *saga, const ck_history_entry_t *history, uint32_t count)
{
    assert (saga);
    assert (count == 0 || history);
    ck_buf_t buffer = { saga->history, saga->history_size, saga->history_size };
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, s_write);
    int rc = 0;
    for (uint32_t index = 0; index < count && rc == 0; index++)
        rc = s_pack_entry (&pk, &history [index]);
    saga->history = buffer.data;        //  it may have grown, even on failure
    if (rc)
        return -1;
    saga->history_size = buffer.size;
    saga->history_kept += count;
    s_prune (saga);
    return 0;
}


//  The state blob; 0 or -1.

int
saga_record_state (const saga_t *saga, ck_buf_t *out)
{
    assert (saga && out);
    out->size = 0;
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, s_write);
    int rc = msgpack_pack_map (&pk, 3)
          || msgpack_pack_str_with_body (&pk, "state", 5)
          || msgpack_pack_array (&pk, S_FIELDS)
          || msgpack_pack_uint8 (&pk, (uint8_t) saga->wait)
          || (saga->stuck? msgpack_pack_true (&pk): msgpack_pack_false (&pk))
          || msgpack_pack_uint8 (&pk, saga->step)
          || msgpack_pack_uint8 (&pk, saga->failed_step)
          || msgpack_pack_bin_with_body (&pk, saga->comp_steps, saga->comp_count)
          || msgpack_pack_uint8 (&pk, saga->comp_index)
          || s_pack_text (&pk, ck_type_name (saga->type))
          || msgpack_pack_uint32 (&pk, saga->attempt)
          || msgpack_pack_uint32 (&pk, saga->counted)
          || msgpack_pack_uint64 (&pk, saga->accepted_us)
          || msgpack_pack_uint64 (&pk, saga->elapsed_us)
          || msgpack_pack_uint64 (&pk, saga->deadline_us)
          || msgpack_pack_array (&pk, CK_MAX_STEPS);
    for (int index = 0; index < CK_MAX_STEPS && !rc; index++)
        rc = s_pack_text (&pk, saga->results [index]);      //  NULL: nil
    rc = rc
      || s_pack_reason (&pk, saga->reason)
      || msgpack_pack_str_with_body (&pk, "total", 5)
      || msgpack_pack_uint64 (&pk, saga->history_logged)
      || msgpack_pack_str_with_body (&pk, "history", 7)
      || msgpack_pack_array (&pk, saga->history_kept)
      || s_write (out, saga->history, saga->history_size);
    return rc? -1: 0;
}


//  -------------------------------------------------------------------------
//  Reading blobs back: every value is checked, nothing asserted

//  The value under key in a map, or NULL
static const msgpack_object *
s_get (const msgpack_object *map, const char *key)
{
    if (map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t length = strlen (key);
    for (uint32_t index = 0; index < map->via.map.size; index++) {
        const msgpack_object_kv *kv = &map->via.map.ptr [index];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == length
        &&  memcmp (kv->key.via.str.ptr, key, length) == 0)
            return &kv->val;
    }
    return NULL;
}

static int
s_uint (const msgpack_object *object, uint64_t max, uint64_t *value)
{
    if (object->type != MSGPACK_OBJECT_POSITIVE_INTEGER || object->via.u64 > max)
        return -1;
    *value = object->via.u64;
    return 0;
}

//  A string or nil into dest (size bytes); -1 when it does not fit
static int
s_text (const msgpack_object *object, char *dest, size_t size)
{
    if (object->type == MSGPACK_OBJECT_NIL) {
        dest [0] = 0;
        return 0;
    }
    if (object->type != MSGPACK_OBJECT_STR || object->via.str.size >= size
    ||  memchr (object->via.str.ptr, 0, object->via.str.size))
        return -1;
    memcpy (dest, object->via.str.ptr, object->via.str.size);
    dest [object->via.str.size] = 0;
    return 0;
}

//  A name from a vocabulary (nil: none_value); -1 when unknown
static int
s_name (const msgpack_object *object, const char *(*name_of) (int), int count, int none_value)
{
    char name [CK_NAME_SIZE];
    if (s_text (object, name, sizeof name))
        return -1;
    if (!name [0])
        return none_value;
    for (int index = 0; index < count; index++) {
        const char *known = name_of (index);
        if (known && strcmp (known, name) == 0)
            return index;
    }
    return -1;
}

static const char *s_type_name (int value) { return ck_type_name ((ck_type_t) value); }
static const char *s_service_name (int value) { return ck_service_name ((ck_service_t) value); }
static const char *s_outcome_name (int value) { return ck_outcome_name ((ck_outcome_t) value); }

//  A reason, or nil (*present false); -1 when invalid
static int
s_reason (const msgpack_object *object, ck_reason_t *reason, bool *present)
{
    memset (reason, 0, sizeof *reason);
    *present = object->type != MSGPACK_OBJECT_NIL;
    if (!*present)
        return 0;
    if (object->type != MSGPACK_OBJECT_ARRAY || object->via.array.size != 3)
        return -1;
    const msgpack_object *fields = object->via.array.ptr;
    return s_text (&fields [0], reason->code, sizeof reason->code)
        || s_text (&fields [1], reason->message, sizeof reason->message)
        || s_text (&fields [2], reason->sku, sizeof reason->sku)? -1: 0;
}

static int
s_entry (const msgpack_object *object, ck_history_entry_t *entry)
{
    memset (entry, 0, sizeof *entry);
    if (object->type != MSGPACK_OBJECT_ARRAY || object->via.array.size != H_FIELDS)
        return -1;
    const msgpack_object *fields = object->via.array.ptr;
    uint64_t attempt;
    bool reason;
    int step = s_name (&fields [H_STEP], s_service_name, CK_SERVICE_MAX, CK_SERVICE_NONE);
    int type = s_name (&fields [H_TYPE], s_type_name, CK_TYPE_MAX, CK_TYPE_NONE);
    int outcome = s_name (&fields [H_OUTCOME], s_outcome_name, CK_OUTCOME_COUNT, CK_OUTCOME_NONE);
    if (step < 0 || type < 0 || outcome < 0
    ||  s_uint (&fields [H_AT_MS], UINT64_MAX, &entry->at_ms)
    ||  s_text (&fields [H_EVENT], entry->event, sizeof entry->event)
    ||  s_uint (&fields [H_ATTEMPT], UINT32_MAX, &attempt)
    ||  s_reason (&fields [H_REASON], &entry->reason, &reason))
        return -1;
    entry->step = (ck_service_t) step;
    entry->type = (ck_type_t) type;
    entry->attempt = (uint32_t) attempt;
    entry->outcome = (ck_outcome_t) outcome;
    return 0;
}

//  The small counters of the state array; -1 when one is out of range
static int
s_counters (const msgpack_object *fields, saga_t *saga)
{
    uint64_t wait, step, failed_step, comp_index, attempt, counted;
    const msgpack_object *comp = &fields [S_COMP_STEPS];
    if (comp->type != MSGPACK_OBJECT_BIN || comp->via.bin.size > CK_MAX_STEPS
    ||  fields [S_STUCK].type != MSGPACK_OBJECT_BOOLEAN
    ||  s_uint (&fields [S_WAIT], SAGA_BACKING_OFF, &wait)
    ||  s_uint (&fields [S_STEP], CK_MAX_STEPS - 1, &step)
    ||  s_uint (&fields [S_FAILED_STEP], SAGA_NO_STEP, &failed_step)
    ||  (failed_step >= CK_MAX_STEPS && failed_step != SAGA_NO_STEP)
    ||  s_uint (&fields [S_COMP_INDEX], comp->via.bin.size, &comp_index)
    ||  s_uint (&fields [S_ATTEMPT], UINT32_MAX, &attempt)
    ||  s_uint (&fields [S_COUNTED], UINT32_MAX, &counted)
    ||  s_uint (&fields [S_ACCEPTED_US], UINT64_MAX, &saga->accepted_us)
    ||  s_uint (&fields [S_ELAPSED_US], UINT64_MAX, &saga->elapsed_us)
    ||  s_uint (&fields [S_DEADLINE_US], UINT64_MAX, &saga->deadline_us))
        return -1;
    for (uint32_t index = 0; index < comp->via.bin.size; index++)
        if ((uint8_t) comp->via.bin.ptr [index] >= CK_MAX_STEPS)
            return -1;
    memcpy (saga->comp_steps, comp->via.bin.ptr, comp->via.bin.size);
    saga->comp_count = (uint8_t) comp->via.bin.size;
    saga->wait = (saga_wait_t) wait;
    saga->stuck = fields [S_STUCK].via.boolean;
    saga->step = (uint8_t) step;
    saga->failed_step = (uint8_t) failed_step;
    saga->comp_index = (uint8_t) comp_index;
    saga->attempt = (uint32_t) attempt;
    saga->counted = (uint32_t) counted;
    return 0;
}

//  The state array into the saga; -1 when a field is invalid
static int
s_state (const msgpack_object *state, saga_t *saga)
{
    if (!state || state->type != MSGPACK_OBJECT_ARRAY || state->via.array.size != S_FIELDS)
        return -1;
    const msgpack_object *fields = state->via.array.ptr;
    const msgpack_object *results = &fields [S_RESULTS];
    int type = s_name (&fields [S_TYPE], s_type_name, CK_TYPE_MAX, CK_TYPE_NONE);
    ck_reason_t reason;
    bool present;
    if (type < 0 || s_counters (fields, saga)
    ||  results->type != MSGPACK_OBJECT_ARRAY || results->via.array.size != CK_MAX_STEPS
    ||  s_reason (&fields [S_REASON], &reason, &present)
    ||  saga_set_reason (saga, present? &reason: NULL))
        return -1;
    char id [CK_ID_SIZE];
    for (int index = 0; index < CK_MAX_STEPS; index++)
        if (s_text (&results->via.array.ptr [index], id, sizeof id)
        ||  saga_set_result (saga, (uint32_t) index, id))
            return -1;
    saga->type = (ck_type_t) type;
    return 0;
}

//  Unpacks a state blob after the codec's scan has bounded its counts
//  (msgpack-c allocates what a header claims); -1 with why
static int
s_unpack (const void *state, size_t size, msgpack_unpacked *unpacked, const char **why)
{
    ck_decode_error_t err;
    size_t offset = 0;
    if (!state || ck_scan_body (state, size, &err)
    ||  msgpack_unpack_next (unpacked, (const char *) state, size, &offset) != MSGPACK_UNPACK_SUCCESS) {
        *why = "the state blob is not msgpack";
        return -1;
    }
    return 0;
}

//  The history array of an unpacked state blob, and total; -1 when invalid
static const msgpack_object *
s_history (const msgpack_object *root, uint64_t *total)
{
    const msgpack_object *history = s_get (root, "history");
    const msgpack_object *count = s_get (root, "total");
    if (!history || history->type != MSGPACK_OBJECT_ARRAY
    ||  history->via.array.size > 2 * HISTORY_KEPT
    ||  !count || s_uint (count, UINT64_MAX, total) || *total < history->via.array.size)
        return NULL;
    return history;
}

//  The history's encoded bytes into the saga, re-encoded from the
//  validated entries so that the saga appends to a well-formed history
static int
s_restore_history (const msgpack_object *history, uint64_t total, saga_t *saga)
{
    ck_history_entry_t entry;
    for (uint32_t index = 0; index < history->via.array.size; index++)
        if (s_entry (&history->via.array.ptr [index], &entry)
        ||  saga_record_append (saga, &entry, 1))
            return -1;
    saga->history_logged = total;
    return 0;
}


//  Restores a saga from its row; NULL with why.

saga_t *
saga_record_restore (const char *saga_id, saga_phase_t phase,
                     const void *cart, size_t cart_size,
                     const void *state, size_t state_size, const char **why)
{
    assert (saga_id && why);
    ck_checkout_t *checkout = (ck_checkout_t *) calloc (1, sizeof (ck_checkout_t));
    ck_decode_error_t err;
    saga_t *saga = NULL;
    *why = "out of memory";
    if (checkout && (!cart || ck_decode_checkout (cart, cart_size, checkout, &err)))
        *why = "the cart blob is not a valid CHECKOUT body";
    else
    if (checkout)
        saga = saga_new (saga_id, checkout);
    free (checkout);
    if (!saga)
        return NULL;
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    uint64_t total;
    const msgpack_object *history;
    if (s_unpack (state, state_size, &unpacked, why) == 0) {
        *why = "the state blob has an invalid field";
        if (s_state (s_get (&unpacked.data, "state"), saga) == 0
        &&  (history = s_history (&unpacked.data, &total))
        &&  s_restore_history (history, total, saga) == 0) {
            saga->phase = phase;
            saga->phase_logged = phase;
            msgpack_unpacked_destroy (&unpacked);
            return saga;
        }
    }
    msgpack_unpacked_destroy (&unpacked);
    saga_destroy (&saga);
    return NULL;
}


//  Decodes a state blob's history; the count filled, or -1 with why.

int
saga_record_history (const void *state, size_t state_size, ck_history_entry_t *entries,
                     uint32_t max, uint64_t *total, const char **why)
{
    assert (entries || max == 0);
    assert (total && why);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    int filled = -1;
    const msgpack_object *history;
    if (s_unpack (state, state_size, &unpacked, why) == 0) {
        *why = "the history is invalid";
        if ((history = s_history (&unpacked.data, total))) {
            uint32_t kept = history->via.array.size;
            uint32_t head = kept <= max? kept: max / 2;
            uint32_t tail = kept <= max? 0: max - head;
            filled = 0;
            for (uint32_t index = 0; index < head + tail && filled >= 0; index++) {
                uint32_t at = index < head? index: kept - tail + (index - head);
                filled = s_entry (&history->via.array.ptr [at], &entries [index])? -1: filled + 1;
            }
        }
    }
    msgpack_unpacked_destroy (&unpacked);
    return filled;
}

bool
saga_record_ends (const saga_t *saga, bool created)
{
    assert (saga);
    bool was_terminal = saga->phase_logged == SAGA_CONFIRMED
                     || saga->phase_logged == SAGA_FAILED;
    return saga_terminal (saga) && (created || !was_terminal);
}
