/*  inventory_lines.c - a reservation's lines as the text the ledger keeps
    Written and read here only; strict, so a damaged entry is an error.
*/
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "checkout/codec.h"
#include "inventory_lines.h"

int
inventory_lines_encode (const ck_item_t *items, uint32_t count, char *out, size_t size)
{
    size_t at = 0;
    for (uint32_t line = 0; line < count; line++) {
        int length = snprintf (out + at, size - at, "%s[\"%s\",%" PRIu32 "]",
                               line? ",": "[", items [line].sku, items [line].qty);
        if (length < 0 || (size_t) length >= size - at)
            return -1;
        at += (size_t) length;
    }
    int length = snprintf (out + at, size - at, "%s", count? "]": "[]");
    return length > 0 && (size_t) length < size - at? 0: -1;
}

//  Reads one ["sku",qty] at *text into item, moving *text past it
static int
s_decode_line (const char **text, ck_item_t *item)
{
    const char *s = *text;
    if (strncmp (s, "[\"", 2) != 0)
        return -1;
    s += 2;
    const char *quote = strchr (s, '"');
    if (!quote || !ck_id_valid (s, (size_t) (quote - s)))
        return -1;
    memcpy (item->sku, s, (size_t) (quote - s));
    item->sku [quote - s] = 0;
    s = quote + 1;
    if (*s++ != ',' || *s < '1' || *s > '9')
        return -1;
    char *end;
    unsigned long qty = strtoul (s, &end, 10);
    if (*end != ']' || qty > UINT32_MAX)
        return -1;
    item->qty = (uint32_t) qty;
    item->unit_price = 0;
    *text = end + 1;
    return 0;
}

int
inventory_lines_decode (const char *text, ck_item_t *items, uint32_t *count)
{
    *count = 0;
    if (*text++ != '[')
        return -1;
    if (strcmp (text, "]") == 0)
        return 0;
    while (*count < CK_MAX_ITEMS) {
        if (s_decode_line (&text, &items [*count]))
            return -1;
        ++*count;
        if (strcmp (text, "]") == 0)
            return 0;
        if (*text++ != ',')
            return -1;
    }
    return -1;
}
