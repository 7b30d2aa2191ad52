/*  saga_log_row.c - private to the saga log: saga_t and history <-> SQLite rows
    Parameters out, validated rows in, and the items text of a cart.
*/
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <czmq.h>
#include "saga_log_row.h"
#include "store.h"

static const char *s_wait_names [] = { "idle", "in_flight", "backing_off" };

//  SQLite integers are signed 64-bit; our counters and clocks are unsigned.
//  The cast keeps all 64 bits (a cart digest uses them all) and the read
//  back casts them again.
static sqlite3_int64
s_int64 (uint64_t value)
{
    return (sqlite3_int64) value;
}


//  Binds a name from a lookup table; NULL for NONE
static void
s_bind_name (sqlite3_stmt *stmt, int index, const char *name)
{
    if (name)
        sqlite3_bind_text (stmt, index, name, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null (stmt, index);
}


//  Binds saga_id and the state columns ?2..?20.  Can't fail.

void
saga_log_bind_state (sqlite3_stmt *stmt, const saga_t *saga)
{
    assert (stmt && saga);
    assert (saga->wait <= SAGA_BACKING_OFF);
    assert (saga->comp_count <= CK_MAX_STEPS);
    //  comp_steps as digits, one per step index ("10": undo 1, then 0)
    char comp_steps [CK_MAX_STEPS + 1];
    for (uint8_t index = 0; index < saga->comp_count; index++) {
        assert (saga->comp_steps [index] < CK_MAX_STEPS);
        comp_steps [index] = (char) ('0' + saga->comp_steps [index]);
    }
    comp_steps [saga->comp_count] = 0;
    const char *phase = saga_phase_name (saga->phase);
    assert (phase);
    sqlite3_bind_text (stmt, 1, saga->saga_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 2, phase, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 3, s_wait_names [saga->wait], -1, SQLITE_STATIC);
    sqlite3_bind_int (stmt, 4, saga->stuck);
    sqlite3_bind_int (stmt, 5, saga->step);
    if (saga->failed_step == SAGA_NO_STEP)
        sqlite3_bind_null (stmt, 6);
    else
        sqlite3_bind_int (stmt, 6, saga->failed_step);
    sqlite3_bind_text (stmt, 7, comp_steps, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int (stmt, 8, saga->comp_index);
    s_bind_name (stmt, 9, ck_type_name (saga->type));
    sqlite3_bind_int64 (stmt, 10, saga->attempt);
    sqlite3_bind_int64 (stmt, 11, saga->counted);
    sqlite3_bind_int64 (stmt, 12, s_int64 (saga->accepted_us));
    sqlite3_bind_int64 (stmt, 13, s_int64 (saga->elapsed_us));
    sqlite3_bind_int64 (stmt, 14, s_int64 (saga->deadline_us));
    store_bind_optional (stmt, 15, saga->reservation_id);
    store_bind_optional (stmt, 16, saga->authorization_id);
    store_bind_optional (stmt, 17, saga->order_id);
    //  A reason present with empty fields stays present: code is NULL only
    //  when the saga has no reason at all
    const ck_reason_t *reason = saga->reason;
    for (int index = 0; index < 3; index++) {
        const char *text = !reason? NULL: index == 0? reason->code:
                           index == 1? reason->message: reason->sku;
        s_bind_name (stmt, 18 + index, text);
    }
}


//  Binds saga_id and the cart columns ?2..?10.  Can't fail.

void
saga_log_bind_cart (sqlite3_stmt *stmt, const saga_t *saga, uint64_t cart_digest, char *items_text)
{
    assert (stmt && saga && items_text);
    saga_log_items_encode (saga->items, saga->item_count, items_text);
    sqlite3_bind_text (stmt, 1, saga->saga_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 2, saga->checkout_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 3, s_int64 (cart_digest));
    sqlite3_bind_text (stmt, 4, saga->cart_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 5, saga->customer_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 6, saga->payment_method, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 7, saga->currency, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 8, saga->ship_to.country, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 9, s_int64 (saga->amount));
    sqlite3_bind_text (stmt, 10, items_text, -1, SQLITE_STATIC);
}


//  Binds one history entry numbered seq.  Can't fail.

void
saga_log_bind_history (sqlite3_stmt *stmt, const char *saga_id, uint64_t seq, const ck_history_entry_t *entry)
{
    assert (stmt && saga_id && entry);
    sqlite3_bind_text (stmt, 1, saga_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 2, s_int64 (seq));
    sqlite3_bind_int64 (stmt, 3, s_int64 (entry->at_ms));
    sqlite3_bind_text (stmt, 4, entry->event, -1, SQLITE_STATIC);
    s_bind_name (stmt, 5, ck_service_name (entry->step));
    s_bind_name (stmt, 6, ck_type_name (entry->type));
    if (entry->attempt)
        sqlite3_bind_int64 (stmt, 7, entry->attempt);
    else
        sqlite3_bind_null (stmt, 7);
    s_bind_name (stmt, 8, ck_outcome_name (entry->outcome));
    //  Absent in the protocol's sense when the code is empty
    bool reason = entry->reason.code [0] != 0;
    s_bind_name (stmt, 9, reason? entry->reason.code: NULL);
    s_bind_name (stmt, 10, reason? entry->reason.message: NULL);
    s_bind_name (stmt, 11, reason? entry->reason.sku: NULL);
}


//  -------------------------------------------------------------------------
//  Reading rows back: every value is checked, nothing asserted

//  Copies a text column into dest (size bytes); NULL gives "".  Returns 0,
//  or -1 when it does not fit (a damaged row, not to be cut silently).
static int
s_text (sqlite3_stmt *stmt, int column, char *dest, size_t size)
{
    const char *text = (const char *) sqlite3_column_text (stmt, column);
    size_t length = text? (size_t) sqlite3_column_bytes (stmt, column): 0;
    if (length >= size || (text && strlen (text) != length))
        return -1;
    if (length)
        memcpy (dest, text, length);
    dest [length] = 0;
    return 0;
}

//  Reads an integer column within [0, max] into *value; -1 when it is not
//  an integer or out of range
static int
s_uint (sqlite3_stmt *stmt, int column, uint64_t max, uint64_t *value)
{
    if (sqlite3_column_type (stmt, column) != SQLITE_INTEGER)
        return -1;
    sqlite3_int64 number = sqlite3_column_int64 (stmt, column);
    if (number < 0 || (uint64_t) number > max)
        return -1;
    *value = (uint64_t) number;
    return 0;
}

//  Reads a 64-bit clock or amount column, all bits kept
static int
s_u64 (sqlite3_stmt *stmt, int column, uint64_t *value)
{
    if (sqlite3_column_type (stmt, column) != SQLITE_INTEGER)
        return -1;
    *value = (uint64_t) sqlite3_column_int64 (stmt, column);
    return 0;
}

//  Index of a name column in table [0..count); NULL gives none_value; -1
//  when the name is not in the table
static int
s_lookup (sqlite3_stmt *stmt, int column, const char *(*name_of) (int), int count, int none_value)
{
    const char *text = (const char *) sqlite3_column_text (stmt, column);
    if (!text)
        return none_value;
    for (int index = 0; index < count; index++) {
        const char *name = name_of (index);
        if (name && strcmp (name, text) == 0)
            return index;
    }
    return -1;
}

static const char *s_phase_name (int value) { return saga_phase_name ((saga_phase_t) value); }
static const char *s_wait_name (int value) { return s_wait_names [value]; }
static const char *s_type_name (int value) { return ck_type_name ((ck_type_t) value); }
static const char *s_service_name (int value) { return ck_service_name ((ck_service_t) value); }
static const char *s_outcome_name (int value) { return ck_outcome_name ((ck_outcome_t) value); }

//  Columns of SAGA_LOG_ROW_COLUMNS, by position
enum {
    C_SAGA_ID, C_CHECKOUT_ID, C_CART_ID, C_CUSTOMER_ID, C_PAYMENT_METHOD,
    C_CURRENCY, C_SHIP_COUNTRY, C_AMOUNT, C_ITEMS, C_PHASE, C_WAIT,
    C_STUCK, C_STEP, C_FAILED_STEP, C_COMP_STEPS, C_COMP_INDEX, C_TYPE,
    C_ATTEMPT, C_COUNTED, C_ACCEPTED_US, C_ELAPSED_US, C_DEADLINE_US,
    C_RESERVATION_ID, C_AUTHORIZATION_ID, C_ORDER_ID, C_REASON_CODE,
    C_REASON_MESSAGE, C_REASON_SKU, C_HISTORY_COUNT, C_CART_DIGEST
};

//  The cart part of the row, as the checkout saga_new copies
static int
s_read_cart (sqlite3_stmt *stmt, ck_checkout_t *checkout)
{
    const char *items = (const char *) sqlite3_column_text (stmt, C_ITEMS);
    int count = items? saga_log_items_decode (items, checkout->items): -1;
    if (count < 0)
        return -1;
    checkout->item_count = (uint32_t) count;
    return s_text (stmt, C_CHECKOUT_ID, checkout->checkout_id, CK_ID_SIZE)
        || s_text (stmt, C_CART_ID, checkout->cart_id, CK_ID_SIZE)
        || s_text (stmt, C_CUSTOMER_ID, checkout->customer_id, CK_ID_SIZE)
        || s_text (stmt, C_PAYMENT_METHOD, checkout->payment_method, CK_ID_SIZE)
        || s_text (stmt, C_CURRENCY, checkout->currency, sizeof checkout->currency)
        || s_text (stmt, C_SHIP_COUNTRY, checkout->ship_to.country, sizeof checkout->ship_to.country)
        || s_u64 (stmt, C_AMOUNT, &checkout->amount)? -1: 0;
}

//  comp_steps digits into the saga; -1 when malformed
static int
s_read_comp_steps (sqlite3_stmt *stmt, saga_t *saga)
{
    const char *text = (const char *) sqlite3_column_text (stmt, C_COMP_STEPS);
    size_t length = text? strlen (text): CK_MAX_STEPS + 1;
    if (length > CK_MAX_STEPS)
        return -1;
    for (size_t index = 0; index < length; index++) {
        if (text [index] < '0' || text [index] >= '0' + CK_MAX_STEPS)
            return -1;
        saga->comp_steps [index] = (uint8_t) (text [index] - '0');
    }
    saga->comp_count = (uint8_t) length;
    return 0;
}

//  The small integers of the state; -1 when one is out of range
static int
s_read_counters (sqlite3_stmt *stmt, saga_t *saga)
{
    uint64_t stuck, step, failed_step = SAGA_NO_STEP, comp_index, attempt, counted;
    if (s_uint (stmt, C_STUCK, 1, &stuck)
    ||  s_uint (stmt, C_STEP, CK_MAX_STEPS - 1, &step)
    ||  (sqlite3_column_type (stmt, C_FAILED_STEP) != SQLITE_NULL
         && s_uint (stmt, C_FAILED_STEP, CK_MAX_STEPS - 1, &failed_step))
    ||  s_uint (stmt, C_COMP_INDEX, saga->comp_count, &comp_index)
    ||  s_uint (stmt, C_ATTEMPT, UINT32_MAX, &attempt)
    ||  s_uint (stmt, C_COUNTED, UINT32_MAX, &counted)
    ||  s_u64 (stmt, C_ACCEPTED_US, &saga->accepted_us)
    ||  s_u64 (stmt, C_ELAPSED_US, &saga->elapsed_us)
    ||  s_u64 (stmt, C_DEADLINE_US, &saga->deadline_us)
    ||  s_u64 (stmt, C_HISTORY_COUNT, &saga->history_logged))
        return -1;
    saga->stuck = stuck != 0;
    saga->step = (uint8_t) step;
    saga->failed_step = (uint8_t) failed_step;
    saga->comp_index = (uint8_t) comp_index;
    saga->attempt = (uint32_t) attempt;
    saga->counted = (uint32_t) counted;
    return 0;
}

//  The reason: absent when reason_code is NULL
static int
s_read_reason (sqlite3_stmt *stmt, saga_t *saga)
{
    if (sqlite3_column_type (stmt, C_REASON_CODE) == SQLITE_NULL)
        return saga_set_reason (saga, NULL);
    ck_reason_t reason;
    if (s_text (stmt, C_REASON_CODE, reason.code, sizeof reason.code)
    ||  s_text (stmt, C_REASON_MESSAGE, reason.message, sizeof reason.message)
    ||  s_text (stmt, C_REASON_SKU, reason.sku, sizeof reason.sku))
        return -1;
    return saga_set_reason (saga, &reason);
}

//  Every state column into the saga; -1 when one is invalid
static int
s_read_state (sqlite3_stmt *stmt, saga_t *saga)
{
    int phase = s_lookup (stmt, C_PHASE, s_phase_name, SAGA_FAILED + 1, -1);
    int wait = s_lookup (stmt, C_WAIT, s_wait_name, SAGA_BACKING_OFF + 1, -1);
    int type = s_lookup (stmt, C_TYPE, s_type_name, CK_TYPE_COUNT, CK_TYPE_NONE);
    if (phase < 0 || wait < 0 || type < 0
    ||  s_read_comp_steps (stmt, saga)
    ||  s_read_counters (stmt, saga)
    ||  s_text (stmt, C_RESERVATION_ID, saga->reservation_id, CK_ID_SIZE)
    ||  s_text (stmt, C_AUTHORIZATION_ID, saga->authorization_id, CK_ID_SIZE)
    ||  s_text (stmt, C_ORDER_ID, saga->order_id, CK_ID_SIZE)
    ||  s_read_reason (stmt, saga))
        return -1;
    saga->phase = (saga_phase_t) phase;
    saga->phase_logged = saga->phase;
    saga->wait = (saga_wait_t) wait;
    saga->type = (ck_type_t) type;
    return 0;
}


//  Restores the saga in stmt's current row; NULL after logging.

saga_t *
saga_log_row_saga (sqlite3_stmt *stmt, const char *path)
{
    assert (stmt && path);
    char saga_id [CK_ID_SIZE];
    ck_checkout_t checkout;
    memset (&checkout, 0, sizeof checkout);
    saga_t *saga = NULL;
    if (s_text (stmt, C_SAGA_ID, saga_id, sizeof saga_id) == 0
    &&  s_read_cart (stmt, &checkout) == 0) {
        saga = saga_new (saga_id, &checkout);
        if (saga && s_read_state (stmt, saga) == 0)
            return saga;
    }
    zsys_error ("saga_log: path=%s op=load saga=%.64s error=%s", path,
                (const char *) sqlite3_column_text (stmt, C_SAGA_ID),
                saga? "invalid state columns": "invalid cart columns or out of memory");
    saga_destroy (&saga);
    return NULL;
}


//  The row's cart_digest, all 64 bits.  Can't fail.

uint64_t
saga_log_row_cart_digest (sqlite3_stmt *stmt)
{
    assert (stmt);
    return (uint64_t) sqlite3_column_int64 (stmt, C_CART_DIGEST);
}


//  Fills *entry from stmt's current row; -1 after logging.

int
saga_log_row_history (sqlite3_stmt *stmt, const char *path, ck_history_entry_t *entry)
{
    assert (stmt && path && entry);
    memset (entry, 0, sizeof *entry);
    uint64_t attempt = 0;
    int step = s_lookup (stmt, 2, s_service_name, CK_SERVICE_COUNT, CK_SERVICE_NONE);
    int type = s_lookup (stmt, 3, s_type_name, CK_TYPE_COUNT, CK_TYPE_NONE);
    int outcome = s_lookup (stmt, 5, s_outcome_name, CK_OUTCOME_COUNT, CK_OUTCOME_NONE);
    if (step < 0 || type < 0 || outcome < 0
    ||  s_u64 (stmt, 0, &entry->at_ms)
    ||  s_text (stmt, 1, entry->event, sizeof entry->event)
    ||  (sqlite3_column_type (stmt, 4) != SQLITE_NULL
         && s_uint (stmt, 4, UINT32_MAX, &attempt))
    ||  s_text (stmt, 6, entry->reason.code, sizeof entry->reason.code)
    ||  s_text (stmt, 7, entry->reason.message, sizeof entry->reason.message)
    ||  s_text (stmt, 8, entry->reason.sku, sizeof entry->reason.sku)) {
        zsys_error ("saga_log: path=%s op=history error=invalid history row", path);
        return -1;
    }
    entry->step = (ck_service_t) step;
    entry->type = (ck_type_t) type;
    entry->attempt = (uint32_t) attempt;
    entry->outcome = (ck_outcome_t) outcome;
    return 0;
}


//  -------------------------------------------------------------------------
//  The items text: "sku qty unit_price" per line, lines joined by ", ".
//  Text, not a blob, so that an operator reads a cart with sqlite3; skus
//  never hold a space or a comma (protocol.md §3), so no quoting is needed.

//  Writes the items text.  Can't fail.

void
saga_log_items_encode (const ck_item_t *items, uint32_t count, char *text)
{
    assert (count <= CK_MAX_ITEMS);
    assert (count == 0 || items);
    assert (text);
    char *cursor = text;
    for (uint32_t index = 0; index < count; index++)
        cursor += sprintf (cursor, "%s%.64s %" PRIu32 " %" PRIu64,
                           index? ", ": "", items [index].sku,
                           items [index].qty, items [index].unit_price);
    *cursor = 0;
}

//  Parses an unsigned decimal at *cursor within [0, max]; -1 otherwise
static int
s_parse_number (const char **cursor, uint64_t max, uint64_t *value)
{
    const char *start = *cursor;
    uint64_t number = 0;
    while (**cursor >= '0' && **cursor <= '9') {
        unsigned digit = (unsigned) (**cursor - '0');
        if (number > (max - digit) / 10)
            return -1;
        number = number * 10 + digit;
        (*cursor)++;
    }
    *value = number;
    return *cursor > start? 0: -1;
}

//  Parses one "sku qty unit_price" at *cursor
static int
s_parse_item (const char **cursor, ck_item_t *item)
{
    size_t length = strcspn (*cursor, " ,");
    if (length == 0 || length > CK_ID_MAX || (*cursor) [length] != ' ')
        return -1;
    memcpy (item->sku, *cursor, length);
    item->sku [length] = 0;
    *cursor += length + 1;
    uint64_t qty;
    if (s_parse_number (cursor, CK_MAX_QTY, &qty) || **cursor != ' ')
        return -1;
    (*cursor)++;
    item->qty = (uint32_t) qty;
    return s_parse_number (cursor, CK_MAX_UNIT_PRICE, &item->unit_price);
}


//  Parses the items text; the count, or -1 when malformed.

int
saga_log_items_decode (const char *text, ck_item_t *items)
{
    assert (text && items);
    int count = 0;
    const char *cursor = text;
    while (*cursor) {
        if (count == CK_MAX_ITEMS
        ||  (count > 0 && strncmp (cursor, ", ", 2) != 0))
            return -1;
        if (count > 0)
            cursor += 2;
        if (s_parse_item (&cursor, &items [count]))
            return -1;
        count++;
    }
    return count;
}
