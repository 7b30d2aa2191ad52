/*  w1.h - workload W1 as data: checkout k, its expected outcome, the catalog
    The production definition of the shared workload W1, for the CLI and the bench.

    Checkout k has 3 lines of the 1000-SKU catalog and one injected outcome
    decided by k alone.  The three injection rules are disjoint: k % 50 == 2
    implies k % 10 == 2, k % 20 == 0 implies k % 10 == 0, and k % 100 == 1
    implies k odd, so no k matches two of them.  The code still applies at
    most one, in the saga's step order (inventory, payment, order), so that
    the rule that would win is the step that refuses first.

    The out-of-stock line (SKU-OOS) is priced 100 cents, the catalog's lowest
    price: W1.md does not say, and the amount stays the sum of the lines.
*/
#ifndef CK_W1_H_INCLUDED
#define CK_W1_H_INCLUDED

#include <stdint.h>
#include "checkout/protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

#define W1_SKU_COUNT        1000        //  SKU-0000 .. SKU-0999
#define W1_INITIAL_STOCK    1000000     //  units of each catalog SKU at start
#define W1_CUSTOMERS        5000        //  cust-<k % 5000>
#define W1_LINES            3           //  lines of every checkout
#define W1_OOS_SKU          "SKU-OOS"   //  in the catalog with stock 0
#define W1_OOS_PRICE        100         //  unit price of the SKU-OOS line
#define W1_PREFIX_MAX       32          //  longest prefix accepted

//  What checkout k of W1 should end as
typedef struct {
    ck_status_t status;                 //  CONFIRMED or FAILED
    ck_service_t failed_step;           //  NONE when confirmed
    const char *reason;                 //  reason code, NULL when confirmed
    ck_service_t compensated [2];       //  steps undone, in order
    uint32_t compensated_count;
} w1_expected_t;

//  Unit price of catalog SKU i (0..999) in cents. Can't fail.
uint64_t w1_price (uint32_t sku);

//  Fills *out with checkout k of W1 (ids chk-<k>, cart-<k>, cust-<k%5000>),
//  injected outcome included; ack is false. Can't fail.
void w1_checkout (uint64_t k, ck_checkout_t *out);

//  As w1_checkout, with prefix in front of the three ids ("<prefix>chk-<k>",
//  "<prefix>cart-<k>", "<prefix>cust-<k%5000>") so that runs against one
//  coordinator can use distinct ids.  Returns 0, or -1 when prefix (may be
//  NULL or empty) is longer than W1_PREFIX_MAX or has a byte ids may not hold.
int w1_checkout_prefixed (const char *prefix, uint64_t k, ck_checkout_t *out);

//  Returns the outcome W1 expects of checkout k. Can't fail.
w1_expected_t w1_expected (uint64_t k);

//  Writes the inventory seed CSV (sku,available; SKU-0000..SKU-0999 with
//  W1_INITIAL_STOCK each, SKU-OOS with 0) to path.  Returns 0, or -1 with
//  errno when the file can't be written.
int w1_catalog_write (const char *path);

#ifdef __cplusplus
}
#endif

#endif
