/*  saga_log_row.h - private to the saga log: saga_t and history <-> SQLite rows
    Binding parameters, reading rows back with validation, the items text.

    Only saga_log.c includes this.  The column lists below and the binding
    order are one contract: the statements of saga_log.c are written
    against them.  A row read back is external input (the file may be old,
    damaged or edited by hand), so every reader validates and logs instead
    of asserting.
*/
#ifndef SAGA_LOG_ROW_H_INCLUDED
#define SAGA_LOG_ROW_H_INCLUDED

#include <sqlite3.h>
#include "saga_engine.h"

//  The columns a saga is restored from, in the order saga_log_row_saga
//  reads them; s is sagas, c is saga_carts
#define SAGA_LOG_ROW_COLUMNS \
    "s.saga_id, c.checkout_id, c.cart_id, c.customer_id, c.payment_method," \
    " c.currency, c.ship_country, c.amount, c.items, s.phase, s.wait," \
    " s.stuck, s.step, s.failed_step, s.comp_steps, s.comp_index, s.type," \
    " s.attempt, s.counted, s.accepted_us, s.elapsed_us, s.deadline_us," \
    " s.reservation_id, s.authorization_id, s.order_id, s.reason_code," \
    " s.reason_message, s.reason_sku, s.history_count, c.cart_digest"

//  The columns of a history entry, in the order saga_log_row_history reads
#define SAGA_LOG_HISTORY_COLUMNS \
    "at_ms, event, step, type, attempt, outcome, reason_code, reason_message, reason_sku"

//  Room for the items text of the largest cart
#define SAGA_LOG_ITEMS_SIZE (CK_MAX_ITEMS * (CK_ID_MAX + 24) + 1)

//  Binds saga_id to ?1 and the state columns to ?2..?20: phase, wait,
//  stuck, step, failed_step, comp_steps, comp_index, type, attempt,
//  counted, accepted_us, elapsed_us, deadline_us, reservation_id,
//  authorization_id, order_id, reason_code, reason_message, reason_sku.
//  The strings are bound static: step stmt before saga changes.  Can't fail.
void saga_log_bind_state (sqlite3_stmt *stmt, const saga_t *saga);

//  Binds saga_id to ?1 and the cart to ?2..?10: checkout_id, cart_digest,
//  cart_id, customer_id, payment_method, currency, ship_country, amount,
//  items (written into items_text, SAGA_LOG_ITEMS_SIZE bytes, which must
//  outlive the step).  Can't fail.
void saga_log_bind_cart (sqlite3_stmt *stmt, const saga_t *saga, uint64_t cart_digest, char *items_text);

//  Binds one history entry, numbered seq, to ?1..?11: saga_id, seq, then
//  SAGA_LOG_HISTORY_COLUMNS.  Can't fail.
void saga_log_bind_history (sqlite3_stmt *stmt, const char *saga_id, uint64_t seq, const ck_history_entry_t *entry);

//  Restores the saga in stmt's current row (SAGA_LOG_ROW_COLUMNS).
//  Returns a new saga owned by the caller, or NULL after logging (path
//  names the file) when the row is invalid or out of memory.
saga_t *saga_log_row_saga (sqlite3_stmt *stmt, const char *path);

//  The cart_digest of stmt's current row (SAGA_LOG_ROW_COLUMNS), all 64
//  bits.  Can't fail.
uint64_t saga_log_row_cart_digest (sqlite3_stmt *stmt);

//  Fills *entry from stmt's current row (SAGA_LOG_HISTORY_COLUMNS).
//  Returns 0, or -1 after logging when the row is invalid.
int saga_log_row_history (sqlite3_stmt *stmt, const char *path, ck_history_entry_t *entry);

//  Writes items [0..count) as text "sku qty unit_price, ..." into text
//  (SAGA_LOG_ITEMS_SIZE bytes).  Can't fail.
void saga_log_items_encode (const ck_item_t *items, uint32_t count, char *text);

//  Parses text written by saga_log_items_encode into items (CK_MAX_ITEMS
//  slots).  Returns the item count, or -1 when text is malformed.
int saga_log_items_decode (const char *text, ck_item_t *items);

#endif
