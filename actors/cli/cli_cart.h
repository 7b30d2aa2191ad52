/*  cli_cart.h - the cart the checkout CLI submits, from flags or a ZPL file
    Every field is checked here, so a user's mistake is a usage error naming the key.

    A cart file holds the keys of a CHECKOUT at top level, and one `item`
    entry per line, either as "SKU:QTY:UNIT_PRICE" or with sku, qty and
    unit_price children (see docs/client.md):

        checkout_id = chk-1001
        cart_id = cart-1001
        customer_id = cust-42
        currency = EUR
        payment_method = pm_card_visa
        country = DE
        ack = true
        item = SKU-0001:2:150
        item
            sku = SKU-0002
            qty = 1
            unit_price = 300
*/
#ifndef CLI_CART_H_INCLUDED
#define CLI_CART_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include "checkout/protocol.h"

#define CLI_REASON_SIZE 320

//  A checkout being put together; amount is computed unless it was given
typedef struct {
    ck_checkout_t checkout;
    bool amount_given;
} cli_cart_t;

//  Empties the cart. Can't fail.
void cli_cart_init (cli_cart_t *self);

//  Sets one key from text: checkout_id, cart_id, customer_id, currency,
//  payment_method, country, ack, amount, or item (appends a line given as
//  "SKU:QTY:UNIT_PRICE").  Returns 0, or -1 with why in reason.
int cli_cart_set (cli_cart_t *self, const char *key, const char *value, char *reason);

//  Drops the cart's lines and a given amount (flags that list items
//  replace a file's). Can't fail.
void cli_cart_clear_items (cli_cart_t *self);

//  Loads a cart file over the cart.  Returns 0, or -1 with why in reason.
int cli_cart_load (cli_cart_t *self, const char *path, char *reason);

//  Checks that every required key is set and computes the amount, or
//  checks the given one against the lines.  Returns 0, or -1 with why.
int cli_cart_finish (cli_cart_t *self, char *reason);

#endif
