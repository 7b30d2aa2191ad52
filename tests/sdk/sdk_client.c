/*  sdk_client.c - a small client built against the installed SDK alone
    Pings a coordinator, submits one checkout and prints how it ended.

    Usage: sdk_client FRONTEND CHECKOUT_ID
    Exit: 0 when the checkout is confirmed, 1 otherwise.
*/
#include <checkout/checkout.h>
#include <stdio.h>
#include <string.h>

int
main (int argc, char **argv)
{
    if (argc != 3 || !ck_id_valid (argv [2], strlen (argv [2]))) {
        fprintf (stderr, "usage: sdk_client FRONTEND CHECKOUT_ID\n");
        return 2;
    }
    printf ("sdk %s (headers %s), protocol %s\n", ck_sdk_version (), CK_SDK_VERSION, CK_VERSION);
    ck_client_t *client = ck_client_new (argv [1]);
    if (!client)
        return 1;
    int rc = 1;
    if (ck_client_ping (client, 10000) == CK_CMD_PONG) {
        ck_checkout_t checkout = { .item_count = 1, .amount = 2 * 101 };
        snprintf (checkout.checkout_id, sizeof checkout.checkout_id, "%s", argv [2]);
        snprintf (checkout.cart_id, sizeof checkout.cart_id, "cart-%s", argv [2]);
        snprintf (checkout.customer_id, sizeof checkout.customer_id, "cust-sdk");
        snprintf (checkout.currency, sizeof checkout.currency, "EUR");
        snprintf (checkout.items [0].sku, sizeof checkout.items [0].sku, "SKU-0001");
        checkout.items [0].qty = 2;
        checkout.items [0].unit_price = 101;
        snprintf (checkout.payment_method, sizeof checkout.payment_method, "pm_card_visa");
        snprintf (checkout.ship_to.country, sizeof checkout.ship_to.country, "FR");
        ck_command_t answer = ck_client_submit (client, &checkout, 20000);
        const ck_client_reply_t *reply = ck_client_reply (client);
        if (answer == CK_CMD_RESULT) {
            printf ("checkout=%s status=%s order=%s\n", reply->result.checkout_id,
                    ck_status_name (reply->result.status), reply->result.order_id);
            rc = reply->result.status == CK_STATUS_CONFIRMED? 0: 1;
        }
        else
        if (answer == CK_CMD_ERROR)
            printf ("error=%s\n", ck_error_code_name (reply->error.code));
        else
            printf ("no answer\n");
    }
    else
        printf ("no PONG\n");
    ck_client_destroy (&client);
    return rc;
}
