/*  inventory_lines.h - a reservation's lines as the text the ledger keeps
    [["SKU-0001",2],["SKU-0042",1]]: JSON, so operators can read it in SQL.
*/
#ifndef CK_INVENTORY_LINES_H_INCLUDED
#define CK_INVENTORY_LINES_H_INCLUDED

#include "checkout/protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Writes count lines (sku, qty) as text into out (size bytes).  Returns
//  0, or -1 when it does not fit.  SKUs are ids (docs/protocol.md#limits), which need no
//  escaping.
int inventory_lines_encode (const ck_item_t *items, uint32_t count, char *out, size_t size);

//  Reads text written by inventory_lines_encode into items (room for
//  CK_MAX_ITEMS) and *count.  Returns 0, or -1 when text is not such a
//  list.
int inventory_lines_decode (const char *text, ck_item_t *items, uint32_t *count);

#ifdef __cplusplus
}
#endif

#endif
