/*  test_w1.c - workload W1 as data
    Outcome counts, amounts, ids, prefixes and the catalog file against W1.md.
*/
#include <criterion/criterion.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "checkout/codec.h"
#include "w1.h"

#define N 20000

TestSuite (w1, .timeout = 30);

Test (w1, counts_for_20000_match_w1)
{
    int confirmed = 0, out_of_stock = 0, declined = 0, unserviceable = 0, other = 0;
    for (uint64_t k = 0; k < N; k++) {
        w1_expected_t expected = w1_expected (k);
        if (expected.status == CK_STATUS_CONFIRMED) {
            cr_assert_null (expected.reason);
            cr_assert_eq (expected.failed_step, CK_SERVICE_NONE);
            confirmed++;
        }
        else
        if (streq (expected.reason, "out_of_stock"))
            out_of_stock++;
        else
        if (streq (expected.reason, "card_declined"))
            declined++;
        else
        if (streq (expected.reason, "destination_unserviceable"))
            unserviceable++;
        else
            other++;
    }
    cr_assert_eq (confirmed, 18400);
    cr_assert_eq (out_of_stock, 400);
    cr_assert_eq (declined, 1000);
    cr_assert_eq (unserviceable, 200);
    cr_assert_eq (other, 0);
}

//  The data carries the outcome: the checkout and the expectation agree
Test (w1, data_carries_the_expected_outcome)
{
    ck_checkout_t checkout;
    for (uint64_t k = 0; k < N; k++) {
        w1_checkout (k, &checkout);
        w1_expected_t expected = w1_expected (k);
        bool oos = streq (checkout.items [0].sku, W1_OOS_SKU);
        bool declined = streq (checkout.payment_method, "pm_card_declined");
        bool aq = streq (checkout.ship_to.country, "AQ");
        cr_assert_eq (oos, expected.failed_step == CK_SERVICE_INVENTORY, "k=%llu",
                      (unsigned long long) k);
        cr_assert_eq (declined, expected.failed_step == CK_SERVICE_PAYMENT);
        cr_assert_eq (aq, expected.failed_step == CK_SERVICE_ORDER);
        cr_assert_leq (oos + declined + aq, 1, "k=%llu has two injections",
                       (unsigned long long) k);
        if (!declined)
            cr_assert_str_eq (checkout.payment_method, "pm_card_visa");
        if (!aq)
            cr_assert_str_eq (checkout.ship_to.country, "DE");
    }
}

Test (w1, expected_compensations)
{
    w1_expected_t e = w1_expected (2);
    cr_assert_eq (e.failed_step, CK_SERVICE_INVENTORY);
    cr_assert_eq (e.compensated_count, 0);
    e = w1_expected (20);
    cr_assert_eq (e.failed_step, CK_SERVICE_PAYMENT);
    cr_assert_eq (e.compensated_count, 1);
    cr_assert_eq (e.compensated [0], CK_SERVICE_INVENTORY);
    e = w1_expected (101);
    cr_assert_eq (e.failed_step, CK_SERVICE_ORDER);
    cr_assert_eq (e.compensated_count, 2);
    cr_assert_eq (e.compensated [0], CK_SERVICE_PAYMENT);
    cr_assert_eq (e.compensated [1], CK_SERVICE_INVENTORY);
    e = w1_expected (3);
    cr_assert_eq (e.status, CK_STATUS_CONFIRMED);
    cr_assert_eq (e.compensated_count, 0);
}

Test (w1, amount_is_the_sum_and_every_checkout_encodes)
{
    ck_checkout_t checkout, decoded;
    ck_buf_t buf;
    ck_buf_init (&buf);
    ck_decode_error_t err;
    for (uint64_t k = 0; k < N; k++) {
        w1_checkout (k, &checkout);
        uint64_t sum = 0;
        cr_assert_eq (checkout.item_count, 3);
        for (uint32_t j = 0; j < checkout.item_count; j++)
            sum += checkout.items [j].qty * checkout.items [j].unit_price;
        cr_assert_eq (checkout.amount, sum, "k=%llu", (unsigned long long) k);
        cr_assert_eq (ck_encode_checkout (&checkout, &buf), 0, "k=%llu",
                      (unsigned long long) k);
        cr_assert_eq (ck_decode_checkout (buf.data, buf.size, &decoded, &err), 0,
                      "k=%llu: %s", (unsigned long long) k, err.message);
        cr_assert_eq (decoded.amount, sum);
    }
    ck_buf_free (&buf);
}

Test (w1, checkout_fields_follow_the_formulas)
{
    ck_checkout_t c;
    w1_checkout (12345, &c);
    cr_assert_str_eq (c.checkout_id, "chk-12345");
    cr_assert_str_eq (c.cart_id, "cart-12345");
    cr_assert_str_eq (c.customer_id, "cust-2345");
    cr_assert_str_eq (c.currency, "EUR");
    cr_assert_not (c.ack);
    for (uint32_t j = 0; j < 3; j++) {
        uint32_t sku = (12345 * 7 + j * 13) % 1000;
        char expected [16];
        snprintf (expected, sizeof expected, "SKU-%04u", sku);
        cr_assert_str_eq (c.items [j].sku, expected);
        cr_assert_eq (c.items [j].qty, 1 + (12345 + j) % 3);
        cr_assert_eq (c.items [j].unit_price, 100 + sku % 900);
    }
    //  k = 2: SKU-OOS on line 0 at 100 cents, the other lines as usual
    w1_checkout (2, &c);
    cr_assert_str_eq (c.items [0].sku, "SKU-OOS");
    cr_assert_eq (c.items [0].unit_price, W1_OOS_PRICE);
    cr_assert_str_eq (c.items [1].sku, "SKU-0027");
    cr_assert_eq (w1_price (999), 100 + 99);
}

Test (w1, prefix_makes_distinct_ids)
{
    ck_checkout_t c;
    cr_assert_eq (w1_checkout_prefixed ("run7-", 42, &c), 0);
    cr_assert_str_eq (c.checkout_id, "run7-chk-42");
    cr_assert_str_eq (c.cart_id, "run7-cart-42");
    cr_assert_str_eq (c.customer_id, "run7-cust-42");
    cr_assert_eq (w1_checkout_prefixed (NULL, 42, &c), 0);
    cr_assert_str_eq (c.checkout_id, "chk-42");
    cr_assert_eq (w1_checkout_prefixed ("", 42, &c), 0);
    cr_assert_str_eq (c.checkout_id, "chk-42");
    cr_assert_eq (w1_checkout_prefixed ("bad prefix", 42, &c), -1);
    cr_assert_eq (w1_checkout_prefixed ("p/", 42, &c), -1);
    char longest [W1_PREFIX_MAX + 2];
    memset (longest, 'p', sizeof longest);
    longest [W1_PREFIX_MAX] = 0;
    cr_assert_eq (w1_checkout_prefixed (longest, UINT64_MAX, &c), 0);
    ck_buf_t buf;
    ck_buf_init (&buf);
    cr_assert_eq (ck_encode_checkout (&c, &buf), 0, "longest ids still valid");
    ck_buf_free (&buf);
    longest [W1_PREFIX_MAX] = 'p';
    longest [W1_PREFIX_MAX + 1] = 0;
    cr_assert_eq (w1_checkout_prefixed (longest, 1, &c), -1);
}

Test (w1, catalog_file)
{
    char path [] = "/tmp/test_w1-XXXXXX";
    int fd = mkstemp (path);
    cr_assert_geq (fd, 0);
    close (fd);
    cr_assert_eq (w1_catalog_write (path), 0);
    FILE *file = fopen (path, "r");
    cr_assert_not_null (file);
    char line [128];
    int skus = 0, oos = 0, comments = 0;
    long total = 0;
    while (fgets (line, sizeof line, file)) {
        char sku [64];
        long available;
        if (line [0] == '#')
            comments++;
        else
        if (sscanf (line, "%63[^,],%ld", sku, &available) == 2) {
            if (streq (sku, "SKU-OOS")) {
                oos++;
                cr_assert_eq (available, 0);
            }
            else {
                cr_assert_eq (available, 1000000);
                char expected [16];
                snprintf (expected, sizeof expected, "SKU-%04d", skus);
                cr_assert_str_eq (sku, expected);
                skus++;
                total += available;
            }
        }
        else
            cr_assert_fail ("unexpected line: %s", line);
    }
    fclose (file);
    unlink (path);
    cr_assert_eq (skus, 1000);
    cr_assert_eq (oos, 1);
    cr_assert_leq (comments, 1);
    cr_assert_eq (total, 1000L * 1000000L);
    cr_assert_eq (w1_catalog_write ("/nonexistent-dir/x.csv"), -1);
}
