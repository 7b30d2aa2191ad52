/*  test_client_pending.c - the client's requests in flight, keyed by checkout_id
    The bound, replacement, removal and the waiting list, without sockets.
*/
#include <criterion/criterion.h>
#include "client_pending.h"

static client_pending_t *s_table;

static void
s_setup (void)
{
    s_table = client_pending_new (3);
}

static void
s_teardown (void)
{
    client_pending_destroy (&s_table);
    cr_assert_null (s_table);
    client_pending_destroy (&s_table);
}

TestSuite (client_pending, .init = s_setup, .fini = s_teardown, .timeout = 10);

static client_request_t *
s_put (const char *checkout_id, const char *body)
{
    return client_pending_put (s_table, checkout_id, CK_CMD_CHECKOUT, body, strlen (body));
}

Test (client_pending, keeps_a_copy_until_removed)
{
    char body [] = "body-1";
    client_request_t *entry = s_put ("chk-1", body);
    body [0] = 'X';
    cr_assert_eq (client_pending_find (s_table, "chk-1"), entry);
    cr_assert_eq (entry->body_size, 6);
    cr_assert_eq (memcmp (entry->body, "body-1", 6), 0, "a copy, not the caller's buffer");
    cr_assert_eq (entry->command, CK_CMD_CHECKOUT);
    cr_assert_null (client_pending_find (s_table, "chk-2"));
    client_pending_remove (s_table, "chk-1");
    client_pending_remove (s_table, "chk-1");
    cr_assert_null (client_pending_find (s_table, "chk-1"));
    cr_assert_eq (client_pending_size (s_table), 0);
}

Test (client_pending, a_new_request_replaces_the_entry_of_its_checkout)
{
    client_request_t *entry = s_put ("chk-1", "first");
    entry->hops = 5;
    entry = client_pending_put (s_table, "chk-1", CK_CMD_STATUS, "second", 6);
    cr_assert_eq (client_pending_size (s_table), 1);
    cr_assert_eq (entry->command, CK_CMD_STATUS);
    cr_assert_eq (entry->hops, 0, "its redirects start over");
    cr_assert_eq (memcmp (entry->body, "second", 6), 0);
}

Test (client_pending, full_drops_the_oldest)
{
    s_put ("chk-1", "a");
    s_put ("chk-2", "b");
    s_put ("chk-3", "c");
    s_put ("chk-1", "a again");         //  now the newest
    s_put ("chk-4", "d");
    cr_assert_eq (client_pending_size (s_table), 3);
    cr_assert_eq (client_pending_dropped (s_table), 1);
    cr_assert_null (client_pending_find (s_table, "chk-2"));
    cr_assert_not_null (client_pending_find (s_table, "chk-1"));
    cr_assert_not_null (client_pending_find (s_table, "chk-3"));
    cr_assert_not_null (client_pending_find (s_table, "chk-4"));
}

Test (client_pending, waiting_entries_come_due_in_time)
{
    cr_assert_eq (client_pending_next_due (s_table, 1000), -1);
    client_request_t *late = s_put ("chk-late", "a");
    client_request_t *soon = s_put ("chk-soon", "b");
    client_pending_defer (s_table, late, 1300, 2);
    client_pending_defer (s_table, soon, 1100, 1);
    cr_assert_eq (client_pending_next_due (s_table, 1000), 100);
    cr_assert_null (client_pending_due (s_table, 1099));
    cr_assert_eq (client_pending_due (s_table, 1100), soon);
    cr_assert_eq (soon->link, 1);
    cr_assert_eq (soon->resend_at, 0);
    cr_assert_null (client_pending_due (s_table, 1100), "taken off the waiting list");
    cr_assert_not_null (client_pending_find (s_table, "chk-soon"), "still in the table");
    cr_assert_eq (client_pending_next_due (s_table, 1400), 0);
    //  Removed or replaced, an entry waits no more
    client_pending_remove (s_table, "chk-late");
    cr_assert_eq (client_pending_next_due (s_table, 1400), -1);
    client_pending_defer (s_table, s_put ("chk-x", "x"), 1500, 0);
    s_put ("chk-x", "x again");
    cr_assert_null (client_pending_due (s_table, 2000));
}
