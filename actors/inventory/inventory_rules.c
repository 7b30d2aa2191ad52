/*  inventory_rules.c - the inventory participant's business rules
    Reserves a cart's lines from stock all or nothing, and releases them.
*/
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <czmq.h>
#include "checkout/codec.h"
#include "inventory_lines.h"
#include "inventory_rules.h"
#include "ledger_pg.h"

struct _inventory_rules_t {
    inventory_repo_t *repo;             //  owned
    ledger_t *ledger;                   //  borrowed
    char reason [512];                  //  why the last seed failed
};

inventory_rules_t *
inventory_rules_new (inventory_repo_t **repo_p, ledger_t *ledger)
{
    assert (repo_p && *repo_p);
    assert (ledger);
    inventory_rules_t *self = (inventory_rules_t *) zmalloc (sizeof (inventory_rules_t));
    self->repo = *repo_p;
    *repo_p = NULL;
    self->ledger = ledger;
    return self;
}

void
inventory_rules_destroy (inventory_rules_t **self_p)
{
    assert (self_p);
    inventory_rules_t *self = *self_p;
    if (self) {
        self->repo->destroy (&self->repo);
        free (self);
        *self_p = NULL;
    }
}

const char *
inventory_rules_reason (inventory_rules_t *self)
{
    assert (self);
    return self->reason;
}

int64_t
inventory_rules_available (inventory_rules_t *self, const char *sku)
{
    assert (self);
    assert (sku);
    int64_t available = -1;
    if (self->repo->available (self->repo, sku, &available) != 1)
        return -1;
    return available;
}

//  -------------------------------------------------------------------------
//  Seeding

//  Trims blanks at both ends of s, in place; returns the new start.
static char *
s_trim (char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t length = strlen (s);
    while (length && strchr (" \t\r\n", s [length - 1]))
        s [--length] = 0;
    return s;
}

//  Parses one line into sku and available; returns 1 for a line with data,
//  0 for a blank or comment line, -1 (with why) for a malformed one.
static int
s_parse_line (char *line, char **sku, int64_t *available, const char **why)
{
    char *comment = strchr (line, '#');
    if (comment)
        *comment = 0;
    line = s_trim (line);
    if (*line == 0)
        return 0;
    char *comma = strchr (line, ',');
    if (!comma || strchr (comma + 1, ',')) {
        *why = "expected sku,available";
        return -1;
    }
    *comma = 0;
    *sku = s_trim (line);
    char *number = s_trim (comma + 1);
    if (!ck_id_valid (*sku, strlen (*sku))) {
        *why = "sku must be 1..64 of [A-Za-z0-9._:-]";
        return -1;
    }
    char *end;
    errno = 0;
    long long value = strtoll (number, &end, 10);
    if (*number < '0' || *number > '9' || *end || errno || value < 0) {
        *why = "available must be a non-negative integer";
        return -1;
    }
    *available = value;
    return 1;
}

static void
s_row_destroy (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

//  Adds one parsed line to rows; -1 with why when its SKU came before
static int
s_seed_add (zhashx_t *seen, zlistx_t *rows, const char *sku, int64_t available,
            const char **why)
{
    if (zhashx_insert (seen, sku, (void *) 1) != 0) {
        *why = "duplicate sku";
        return -1;
    }
    inventory_stock_t *row = (inventory_stock_t *) zmalloc (sizeof (inventory_stock_t));
    snprintf (row->sku, sizeof row->sku, "%s", sku);
    row->available = available;
    zlistx_add_end (rows, row);
    return 0;
}

//  Reads every line of file into rows; -1 on the first bad one, with
//  self->reason set.
static int
s_seed_read (inventory_rules_t *self, FILE *file, const char *path, zlistx_t *rows)
{
    zhashx_t *seen = zhashx_new ();
    char *line = NULL;
    size_t size = 0;
    size_t number = 0;
    int rc = 0;
    while (rc == 0 && getline (&line, &size, file) != -1) {
        number++;
        char *sku;
        int64_t available;
        const char *why = NULL;
        int parsed = s_parse_line (line, &sku, &available, &why);
        if (parsed == 1)
            parsed = s_seed_add (seen, rows, sku, available, &why);
        if (parsed == -1) {
            snprintf (self->reason, sizeof self->reason, "%s:%zu: %s", path, number, why);
            rc = -1;
        }
    }
    if (rc == 0 && ferror (file)) {
        snprintf (self->reason, sizeof self->reason, "%s: %s", path, strerror (errno));
        rc = -1;
    }
    free (line);
    zhashx_destroy (&seen);
    return rc;
}

//  Hands the rows to the repository as one array
static int
s_seed_load (inventory_rules_t *self, zlistx_t *rows)
{
    size_t count = zlistx_size (rows);
    inventory_stock_t *array = (inventory_stock_t *) zmalloc (
        (count? count: 1) * sizeof (inventory_stock_t));
    size_t index = 0;
    for (inventory_stock_t *row = (inventory_stock_t *) zlistx_first (rows); row;
         row = (inventory_stock_t *) zlistx_next (rows))
        array [index++] = *row;
    int rc = self->repo->seed (self->repo, array, count);
    free (array);
    return rc;
}

int
inventory_rules_seed (inventory_rules_t *self, const char *path)
{
    assert (self);
    assert (path);
    self->reason [0] = 0;
    FILE *file = fopen (path, "r");
    if (!file) {
        snprintf (self->reason, sizeof self->reason, "%s: %s", path, strerror (errno));
        zsys_error ("inventory: op=seed error=%s", self->reason);
        return -1;
    }
    zlistx_t *rows = zlistx_new ();
    zlistx_set_destructor (rows, s_row_destroy);
    int rc = s_seed_read (self, file, path, rows);
    fclose (file);
    if (rc == 0)
        rc = s_seed_load (self, rows);
    zlistx_destroy (&rows);
    if (rc == 1) {
        zsys_notice ("inventory: op=seed file=%s skipped=stock not empty", path);
        return 1;
    }
    if (rc != 0) {
        if (self->reason [0] == 0)
            snprintf (self->reason, sizeof self->reason, "%s: database error", path);
        zsys_error ("inventory: op=seed error=%s", self->reason);
        return -1;
    }
    return 0;
}

//  -------------------------------------------------------------------------
//  Reserve and release

//  Sets the rejection of a cart the repository refused: the first line,
//  in cart order, that can't be taken once the lines before it are (a SKU
//  on several lines adds up).  Runs only for a refused cart, which the
//  repository left untouched.  Returns 0, or -1 (none found: the refusal
//  was not about stock).
static int
s_reject (inventory_rules_t *self, const ck_request_t *request, ledger_entry_t *answer)
{
    ck_reason_t *reason = &answer->reason;
    for (uint32_t line = 0; line < request->item_count; line++) {
        const ck_item_t *item = &request->items [line];
        int64_t left = 0;
        int stocked = self->repo->available (self->repo, item->sku, &left);
        if (stocked == -1)
            return -1;
        for (uint32_t before = 0; before < line; before++)
            if (strcmp (request->items [before].sku, item->sku) == 0)
                left -= request->items [before].qty;
        if (stocked == 0) {
            snprintf (reason->code, sizeof reason->code, "unknown_sku");
            snprintf (reason->message, sizeof reason->message,
                      "%s is not in the catalog", item->sku);
        }
        else
        if (left < item->qty) {
            snprintf (reason->code, sizeof reason->code, "out_of_stock");
            snprintf (reason->message, sizeof reason->message,
                      "%s: %" PRIu32 " wanted, %" PRId64 " left", item->sku,
                      item->qty, left);
        }
        else
            continue;
        snprintf (reason->sku, sizeof reason->sku, "%s", item->sku);
        answer->outcome = CK_OUTCOME_REJECTED;
        return 0;
    }
    zsys_error ("inventory: saga=%s error=cart refused but every line is in stock",
                request->saga_id);
    return -1;
}

//  True when the cart has 1..CK_MAX_ITEMS lines of at least one unit;
//  else false after logging
static bool
s_cart_valid (const ck_request_t *request)
{
    bool valid = request->item_count >= 1 && request->item_count <= CK_MAX_ITEMS;
    for (uint32_t line = 0; valid && line < request->item_count; line++)
        valid = request->items [line].qty > 0;
    if (!valid)
        zsys_warning ("inventory: saga=%s error=%" PRIu32 " items, or a line of 0",
                      request->saga_id, request->item_count);
    return valid;
}

//  Takes every line or none, and keeps the lines in the answer for the
//  release
static int
s_reserve (void *state, const ck_request_t *request, const ledger_entry_t *forward,
           ledger_entry_t *answer)
{
    (void) forward;
    inventory_rules_t *self = (inventory_rules_t *) state;
    if (!s_cart_valid (request))
        return -1;
    if (inventory_lines_encode (request->items, request->item_count, answer->detail,
                                sizeof answer->detail))
        return -1;
    int taken = self->repo->take (self->repo, request->items, request->item_count);
    if (taken == 0)
        return s_reject (self, request, answer);
    if (taken == -1)
        return -1;
    answer->outcome = CK_OUTCOME_OK;
    return 0;
}

//  Gives back exactly the lines the reservation took, if there is one.
//  No reservation (never made, or rejected) is fine: the ledger's record
//  of this release is the tombstone that refuses a late reserve.  The
//  ledger runs this once per saga, so stock comes back once.
static int
s_release (void *state, const ck_request_t *request, const ledger_entry_t *forward,
           ledger_entry_t *answer)
{
    inventory_rules_t *self = (inventory_rules_t *) state;
    answer->outcome = CK_OUTCOME_OK;
    if (!forward)
        return 0;
    ck_item_t items [CK_MAX_ITEMS];
    uint32_t count;
    if (inventory_lines_decode (forward->detail, items, &count) || count == 0) {
        zsys_error ("inventory: saga=%s error=reservation res-%" PRId64 " has no readable"
                    " lines", request->saga_id, forward->id);
        return -1;
    }
    return self->repo->give_back (self->repo, items, count);
}

static const ledger_handler_t s_reserve_handler = { s_reserve, NULL };
static const ledger_handler_t s_release_handler = { s_release, NULL };

int
inventory_rules_reserve (void *state, const ck_request_t *request, ck_reply_t *reply)
{
    assert (state);
    assert (request->type == CK_TYPE_RESERVE_INVENTORY);
    inventory_rules_t *self = (inventory_rules_t *) state;
    return ledger_run (self->ledger, &s_reserve_handler, self, request, reply);
}

int
inventory_rules_release (void *state, const ck_request_t *request, ck_reply_t *reply)
{
    assert (state);
    assert (request->type == CK_TYPE_RELEASE_INVENTORY);
    inventory_rules_t *self = (inventory_rules_t *) state;
    return ledger_run (self->ledger, &s_release_handler, self, request, reply);
}

//  A request's server call: the cart is checked and its lines encoded
//  here, the rest is the server function's (inventory_repo_pg.c)
static int
s_make (void *state, const ck_request_t *request, pg_statement_t *call)
{
    inventory_rules_t *self = (inventory_rules_t *) state;
    if (request->type != CK_TYPE_RESERVE_INVENTORY)
        return self->repo->call (self->repo, request, NULL, call);
    if (!s_cart_valid (request))
        return -1;
    char detail [LEDGER_DETAIL_SIZE];
    if (inventory_lines_encode (request->items, request->item_count, detail, sizeof detail))
        return -1;
    return self->repo->call (self->repo, request, detail, call);
}

void
inventory_rules_batch (void *state, const ck_request_t *const *requests,
                       ck_reply_t *const *replies, size_t count)
{
    assert (state);
    inventory_rules_t *self = (inventory_rules_t *) state;
    assert (self->repo->call);
    ledger_pg_run (self->ledger, s_make, self, requests, replies, count);
}

int
inventory_rules_handle (void *state, const ck_request_t *request, ck_reply_t *reply)
{
    if (request->type == CK_TYPE_RESERVE_INVENTORY)
        return inventory_rules_reserve (state, request, reply);
    if (request->type == CK_TYPE_RELEASE_INVENTORY)
        return inventory_rules_release (state, request, reply);
    zsys_warning ("inventory: saga=%s type=%d error=not an inventory request",
                  request->saga_id, (int) request->type);
    return -1;
}
