/*  cli_cart.c - the cart the checkout CLI submits, from flags or a ZPL file
    Parses and checks each key the way the coordinator will, before sending.
*/
#include <czmq.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include "cli_cart.h"
#include "checkout/codec.h"

#define CART_FILE_MAX   (1024 * 1024)   //  a cart file is small: more is a mistake
#define SHOWN_MAX       64

static int
s_fail (char *reason, const char *format, ...) CHECK_PRINTF (2);

static int
s_fail (char *reason, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (reason, CLI_REASON_SIZE, format, args);
    va_end (args);
    return -1;
}

//  Parses a whole decimal number in 0..max; a sign or spaces are refused
static int
s_parse_uint (const char *text, uint64_t max, uint64_t *value)
{
    if (!isdigit ((unsigned char) *text))
        return -1;
    char *end = NULL;
    errno = 0;
    unsigned long long number = strtoull (text, &end, 10);
    if (*end || errno || number > max)
        return -1;
    *value = number;
    return 0;
}

static int
s_set_id (char *field, const char *key, const char *value, char *reason)
{
    size_t len = strnlen (value, CK_ID_SIZE);
    if (!ck_id_valid (value, len))
        return s_fail (reason, "%s '%.*s': must be 1..%d bytes of [A-Za-z0-9._:-]",
                       key, SHOWN_MAX, value, CK_ID_MAX);
    memcpy (field, value, len + 1);
    return 0;
}

static int
s_set_upper (char *field, size_t letters, const char *key, const char *value, char *reason)
{
    bool valid = strlen (value) == letters;
    for (size_t i = 0; valid && i < letters; i++)
        valid = value [i] >= 'A' && value [i] <= 'Z';
    if (!valid)
        return s_fail (reason, "%s '%.*s': must be %zu upper-case letters", key,
                       SHOWN_MAX, value, letters);
    memcpy (field, value, letters + 1);
    return 0;
}

//  Appends a line given as SKU:QTY:UNIT_PRICE.  A SKU may hold ':' itself,
//  so the two numbers are split off from the right.
static int
s_add_item (cli_cart_t *self, const char *value, char *reason)
{
    ck_checkout_t *checkout = &self->checkout;
    if (checkout->item_count >= CK_MAX_ITEMS)
        return s_fail (reason, "item: more than %d lines", CK_MAX_ITEMS);
    const char *price = strrchr (value, ':');
    const char *qty = NULL;
    for (const char *at = price? price - 1: NULL; at && at >= value; at--)
        if (*at == ':') {
            qty = at;
            break;
        }
    if (!price || !qty)
        return s_fail (reason, "item '%.*s': must be SKU:QTY:UNIT_PRICE", SHOWN_MAX, value);
    ck_item_t *item = &checkout->items [checkout->item_count];
    memset (item, 0, sizeof *item);
    char sku [CK_ID_SIZE + 1];
    snprintf (sku, sizeof sku, "%.*s", (int) (qty - value), value);
    char quantity [32];
    snprintf (quantity, sizeof quantity, "%.*s", (int) (price - qty - 1), qty + 1);
    uint64_t number = 0;
    if (s_set_id (item->sku, "item sku", sku, reason))
        return -1;
    if (s_parse_uint (quantity, CK_MAX_QTY, &number) || number == 0)
        return s_fail (reason, "item '%.*s': qty must be 1..%d", SHOWN_MAX, value, CK_MAX_QTY);
    item->qty = (uint32_t) number;
    if (s_parse_uint (price + 1, CK_MAX_UNIT_PRICE, &item->unit_price))
        return s_fail (reason, "item '%.*s': unit_price must be 0..%llu", SHOWN_MAX, value,
                       (unsigned long long) CK_MAX_UNIT_PRICE);
    checkout->item_count++;
    return 0;
}

//  Empties the cart. Can't fail.
void
cli_cart_init (cli_cart_t *self)
{
    assert (self);
    memset (self, 0, sizeof *self);
}

//  Sets one key from text; 0, or -1 with why in reason.
int
cli_cart_set (cli_cart_t *self, const char *key, const char *value, char *reason)
{
    assert (self && key && value && reason);
    ck_checkout_t *checkout = &self->checkout;
    if (streq (key, "checkout_id"))
        return s_set_id (checkout->checkout_id, key, value, reason);
    if (streq (key, "cart_id"))
        return s_set_id (checkout->cart_id, key, value, reason);
    if (streq (key, "customer_id"))
        return s_set_id (checkout->customer_id, key, value, reason);
    if (streq (key, "payment_method"))
        return s_set_id (checkout->payment_method, key, value, reason);
    if (streq (key, "currency"))
        return s_set_upper (checkout->currency, 3, key, value, reason);
    if (streq (key, "country"))
        return s_set_upper (checkout->ship_to.country, 2, key, value, reason);
    if (streq (key, "item"))
        return s_add_item (self, value, reason);
    if (streq (key, "ack")) {
        if (!streq (value, "true") && !streq (value, "false"))
            return s_fail (reason, "ack '%.*s': must be true or false", SHOWN_MAX, value);
        checkout->ack = streq (value, "true");
        return 0;
    }
    if (streq (key, "amount")) {
        if (s_parse_uint (value, UINT64_MAX, &checkout->amount))
            return s_fail (reason, "amount '%.*s': must be a whole number of minor units",
                           SHOWN_MAX, value);
        self->amount_given = true;
        return 0;
    }
    return s_fail (reason, "unknown key '%.*s'", SHOWN_MAX, key);
}

//  Drops the lines and a given amount. Can't fail.
void
cli_cart_clear_items (cli_cart_t *self)
{
    assert (self);
    self->checkout.item_count = 0;
    self->checkout.amount = 0;
    self->amount_given = false;
}

//  An item entry with children: sku, qty, unit_price, joined into one text
static int
s_load_item (cli_cart_t *self, zconfig_t *item, char *reason)
{
    const char *sku = zconfig_get (item, "sku", NULL);
    const char *qty = zconfig_get (item, "qty", NULL);
    const char *price = zconfig_get (item, "unit_price", NULL);
    if (!sku || !qty || !price)
        return s_fail (reason, "item %u: needs sku, qty and unit_price",
                       self->checkout.item_count + 1);
    char text [CK_ID_SIZE + 2 * 64 + 2];
    snprintf (text, sizeof text, "%.*s:%.63s:%.63s", CK_ID_MAX + 1, sku, qty, price);
    return s_add_item (self, text, reason);
}

static int
s_load_entry (cli_cart_t *self, zconfig_t *entry, char *reason)
{
    const char *key = zconfig_name (entry)? zconfig_name (entry): "";
    const char *value = zconfig_value (entry)? zconfig_value (entry): "";
    if (streq (key, "item") && zconfig_child (entry))
        return s_load_item (self, entry, reason);
    if (zconfig_child (entry))
        return s_fail (reason, "%.*s: nested keys are only for item", SHOWN_MAX, key);
    if (*value == 0)
        return s_fail (reason, "%.*s: missing value", SHOWN_MAX, key);
    return cli_cart_set (self, key, value, reason);
}

//  Parses ZPL text.  zconfig reports a syntax error only by printing it
//  on stdout, where the CLI's answer goes; the CLI is single-threaded at
//  this point, so stdout is pointed at a scratch stream during the parse.
static zconfig_t *
s_parse (const char *text)
{
    char *logged = NULL;
    size_t logged_size = 0;
    FILE *saved = stdout;
    fflush (saved);
    FILE *scratch = open_memstream (&logged, &logged_size);
    if (scratch)
        stdout = scratch;
    zconfig_t *root = zconfig_str_load (text);
    stdout = saved;
    if (scratch)
        fclose (scratch);
    free (logged);
    return root;
}

static char *
s_read (const char *path, char *reason)
{
    FILE *file = fopen (path, "r");
    if (!file) {
        s_fail (reason, "cannot read (%s)", strerror (errno));
        return NULL;
    }
    char *text = (char *) zmalloc (CART_FILE_MAX + 1);
    size_t size = fread (text, 1, CART_FILE_MAX + 1, file);
    bool failed = ferror (file);
    fclose (file);
    if (failed || size > CART_FILE_MAX || memchr (text, 0, size)) {
        s_fail (reason, "cannot read (%s)", failed? "read error": "not a small text file");
        free (text);
        return NULL;
    }
    text [size] = 0;
    return text;
}

//  Loads a cart file over the cart; 0, or -1 with why in reason.
int
cli_cart_load (cli_cart_t *self, const char *path, char *reason)
{
    assert (self && path && reason);
    char *text = s_read (path, reason);
    if (!text)
        return -1;
    zconfig_t *root = s_parse (text);
    free (text);
    if (!root)
        return s_fail (reason, "not valid ZPL");
    int rc = 0;
    for (zconfig_t *entry = zconfig_child (root); entry && rc == 0;
         entry = zconfig_next (entry))
        rc = s_load_entry (self, entry, reason);
    zconfig_destroy (&root);
    return rc;
}

//  Checks the required keys and the amount; 0, or -1 with why in reason.
int
cli_cart_finish (cli_cart_t *self, char *reason)
{
    assert (self && reason);
    ck_checkout_t *checkout = &self->checkout;
    struct { const char *value; const char *key; } required [] = {
        { checkout->checkout_id, "checkout_id (--checkout-id)" },
        { checkout->cart_id, "cart_id (--cart-id)" },
        { checkout->customer_id, "customer_id (--customer)" },
        { checkout->currency, "currency (--currency)" },
        { checkout->payment_method, "payment_method (--payment-method)" },
        { checkout->ship_to.country, "country (--country)" },
    };
    for (size_t i = 0; i < sizeof required / sizeof required [0]; i++)
        if (*required [i].value == 0)
            return s_fail (reason, "missing %s", required [i].key);
    if (checkout->item_count == 0)
        return s_fail (reason, "missing items (--item SKU:QTY:UNIT_PRICE)");
    uint64_t sum = 0;                   //  at most 100 x 10^4 x 10^9: no overflow
    for (uint32_t i = 0; i < checkout->item_count; i++)
        sum += checkout->items [i].qty * checkout->items [i].unit_price;
    if (self->amount_given && checkout->amount != sum)
        return s_fail (reason, "amount %llu is not the sum of the items, %llu",
                       (unsigned long long) checkout->amount, (unsigned long long) sum);
    checkout->amount = sum;
    return 0;
}
