/*  w1.c - workload W1 as data: checkout k, its expected outcome, the catalog
    Pure functions of k, so the bench, the CLI and the checks agree on every id.
*/
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "checkout/codec.h"
#include "w1.h"

//  Which outcome W1 injects into checkout k; one at most (see w1.h)
typedef enum {
    INJECT_NONE,
    INJECT_OUT_OF_STOCK,
    INJECT_CARD_DECLINED,
    INJECT_UNSERVICEABLE
} inject_t;

static inject_t
s_injected (uint64_t k)
{
    if (k % 50 == 2)
        return INJECT_OUT_OF_STOCK;
    if (k % 20 == 0)
        return INJECT_CARD_DECLINED;
    if (k % 100 == 1)
        return INJECT_UNSERVICEABLE;
    return INJECT_NONE;
}

//  Returns the unit price of catalog SKU i in cents. Can't fail.
uint64_t
w1_price (uint32_t sku)
{
    return 100 + sku % 900;
}

static void
s_fill_lines (uint64_t k, inject_t inject, ck_checkout_t *out)
{
    out->item_count = W1_LINES;
    out->amount = 0;
    for (uint32_t j = 0; j < W1_LINES; j++) {
        ck_item_t *item = &out->items [j];
        uint32_t sku = (uint32_t) ((k * 7 + j * 13) % W1_SKU_COUNT);
        item->qty = (uint32_t) (1 + (k + j) % 3);
        if (j == 0 && inject == INJECT_OUT_OF_STOCK) {
            snprintf (item->sku, sizeof item->sku, "%s", W1_OOS_SKU);
            item->unit_price = W1_OOS_PRICE;
        }
        else {
            snprintf (item->sku, sizeof item->sku, "SKU-%04u", sku);
            item->unit_price = w1_price (sku);
        }
        out->amount += item->qty * item->unit_price;
    }
}

static void
s_fill (const char *prefix, uint64_t k, ck_checkout_t *out)
{
    inject_t inject = s_injected (k);
    memset (out, 0, sizeof *out);
    unsigned long long key = (unsigned long long) k;
    snprintf (out->checkout_id, sizeof out->checkout_id, "%schk-%llu", prefix, key);
    snprintf (out->cart_id, sizeof out->cart_id, "%scart-%llu", prefix, key);
    snprintf (out->customer_id, sizeof out->customer_id, "%scust-%llu", prefix,
              key % W1_CUSTOMERS);
    snprintf (out->currency, sizeof out->currency, "EUR");
    s_fill_lines (k, inject, out);
    snprintf (out->payment_method, sizeof out->payment_method, "%s",
              inject == INJECT_CARD_DECLINED? "pm_card_declined": "pm_card_visa");
    snprintf (out->ship_to.country, sizeof out->ship_to.country, "%s",
              inject == INJECT_UNSERVICEABLE? "AQ": "DE");
}

//  Fills *out with checkout k of W1. Can't fail.
void
w1_checkout (uint64_t k, ck_checkout_t *out)
{
    assert (out);
    s_fill ("", k, out);
}

//  Fills *out with checkout k of W1 under prefix; 0, or -1 for a bad prefix.
int
w1_checkout_prefixed (const char *prefix, uint64_t k, ck_checkout_t *out)
{
    assert (out);
    size_t len = prefix? strlen (prefix): 0;
    if (len > W1_PREFIX_MAX || (len > 0 && !ck_id_valid (prefix, len)))
        return -1;
    s_fill (len? prefix: "", k, out);
    return 0;
}

//  Returns the outcome W1 expects of checkout k. Can't fail.
w1_expected_t
w1_expected (uint64_t k)
{
    w1_expected_t expected = { .status = CK_STATUS_FAILED };
    switch (s_injected (k)) {
        case INJECT_OUT_OF_STOCK:
            expected.failed_step = CK_SERVICE_INVENTORY;
            expected.reason = "out_of_stock";
            break;
        case INJECT_CARD_DECLINED:
            expected.failed_step = CK_SERVICE_PAYMENT;
            expected.reason = "card_declined";
            expected.compensated [expected.compensated_count++] = CK_SERVICE_INVENTORY;
            break;
        case INJECT_UNSERVICEABLE:
            expected.failed_step = CK_SERVICE_ORDER;
            expected.reason = "destination_unserviceable";
            expected.compensated [expected.compensated_count++] = CK_SERVICE_PAYMENT;
            expected.compensated [expected.compensated_count++] = CK_SERVICE_INVENTORY;
            break;
        case INJECT_NONE:
            expected.status = CK_STATUS_CONFIRMED;
            break;
    }
    return expected;
}

//  Writes the seed CSV to path; 0, or -1 with errno.
int
w1_catalog_write (const char *path)
{
    assert (path);
    FILE *file = fopen (path, "w");
    if (!file)
        return -1;
    fprintf (file, "# W1 catalog: %d SKUs of %d units, and %s out of stock\n",
             W1_SKU_COUNT, W1_INITIAL_STOCK, W1_OOS_SKU);
    for (uint32_t i = 0; i < W1_SKU_COUNT; i++)
        fprintf (file, "SKU-%04u,%d\n", i, W1_INITIAL_STOCK);
    fprintf (file, "%s,0\n", W1_OOS_SKU);
    int error = ferror (file)? errno: 0;
    if (fclose (file) != 0 && !error)
        error = errno;
    if (error) {
        errno = error;
        return -1;
    }
    return 0;
}
