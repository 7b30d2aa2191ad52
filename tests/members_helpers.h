/*  members_helpers.h - several coordinators on one saga log, and a client of all of them
    Leases read from the log, a connection per frontend, not_owner followed, the stores checked.

    Header-only (static inline) like e2e_helpers.h, on which it builds, with
    pg_helpers.h.  The test's client keeps a connection per coordinator and
    follows not_owner itself: to the owner it names, or, when none is named,
    to the next coordinator a moment later (bounce_ms).  It sends again
    every checkout it has no answer for after resend_ms, as a client whose
    coordinator went away does.  Nothing here asserts: helpers return 0 /
    -1 (or a count of problems), and the tests assert.
*/
#ifndef CK_MEMBERS_HELPERS_H_INCLUDED
#define CK_MEMBERS_HELPERS_H_INCLUDED

#include "e2e_helpers.h"
#include "pg_helpers.h"

#define CM_MAX_MEMBERS  4

//  One coordinator of the group
typedef struct {
    char name [8];                      //  its --instance
    char frontend [128], backend [128], events [128];
    int slot;                           //  in the e2e group, or -1
    ck_client_t *client;                //  borrowed from the e2e group
    bool down;                          //  killed, stopped or cut off by the test
} cm_member_t;

//  Where a checkout was sent last, and when
typedef struct {
    int target;
    int64_t sent_ms;
    int64_t resend_ms;                  //  0: no resend planned
} cm_route_t;

typedef struct {
    cm_member_t members [CM_MAX_MEMBERS];
    int count;
    int partitions;
    const char *log_uri;                //  borrowed: the saga log
    e2e_book_t *book;                   //  borrowed: what the client heard
    cm_route_t *routes;                 //  one per checkout of the book
    int resend_ms;                      //  a checkout without answer is sent again
    int bounce_ms;                      //  after not_owner naming no one
} cm_t;

//  Makes a route per checkout of the book.  Returns 0, or -1.
static inline int
cm_routes_new (cm_t *self)
{
    free (self->routes);
    self->routes = (cm_route_t *) calloc (self->book->count, sizeof (cm_route_t));
    return self->routes? 0: -1;
}

static inline void
cm_fini (cm_t *self)
{
    free (self->routes);
    self->routes = NULL;
}

//  Partitions whose live lease owner holds (NULL: anyone)
static inline long long
cm_held_by (cm_t *self, const char *owner)
{
    char sql [256];
    snprintf (sql, sizeof sql, "SELECT count (*) FROM saga_partitions WHERE expires_at > now ()"
              " AND owner %s%.8s%s", owner? "= '": "IS NOT NULL", owner? owner: "",
              owner? "'": "");
    return pg_query_int (self->log_uri, sql);
}

//  Partitions held by the coordinators the test has not taken down
static inline long long
cm_held_by_live (cm_t *self)
{
    long long held = 0;
    for (int m = 0; m < self->count; m++)
        if (!self->members [m].down)
            held += cm_held_by (self, self->members [m].name);
    return held;
}

//  True when every coordinator up holds a share and together all of them
static inline bool
cm_balanced (cm_t *self)
{
    long long held = 0;
    for (int m = 0; m < self->count; m++) {
        if (self->members [m].down)
            continue;
        long long mine = cm_held_by (self, self->members [m].name);
        if (mine <= 0)
            return false;
        held += mine;
    }
    return held == self->partitions;
}

//  Makes a client per coordinator and waits until each serves every step,
//  then until the partitions are shared.  Returns 0, or -1 with why in
//  problem.
static inline int
cm_wait_serving (cm_t *self, e2e_group_t *g, int timeout_ms, char problem [E2E_PROBLEM_SIZE])
{
    int64_t deadline = ph_now_ms () + timeout_ms;
    for (int m = 0; m < self->count; m++) {
        cm_member_t *member = &self->members [m];
        snprintf (g->frontend, sizeof g->frontend, "%s", member->frontend);
        member->client = e2e_client (g);
        bool served = false;
        while (member->client && !served && ph_now_ms () < deadline)
            served = ck_client_ping (member->client, 250) == CK_CMD_PONG
                  && ck_client_reply (member->client)->pong.unserved_count == 0;
        if (!served) {
            snprintf (problem, E2E_PROBLEM_SIZE, "%s does not serve (logs in %s)",
                      member->name, g->dir);
            return -1;
        }
    }
    while (!cm_balanced (self) && ph_now_ms () < deadline)
        zclock_sleep (100);
    if (cm_balanced (self))
        return 0;
    snprintf (problem, E2E_PROBLEM_SIZE, "the partitions are not shared (logs in %s)", g->dir);
    return -1;
}

//  The member whose frontend is endpoint, or -1
static inline int
cm_member_of (cm_t *self, const char *endpoint)
{
    for (int m = 0; m < self->count; m++)
        if (streq (self->members [m].frontend, endpoint))
            return m;
    return -1;
}

//  The first coordinator up from m on, or -1
static inline int
cm_up_from (cm_t *self, int m)
{
    for (int step = 0; step < self->count; step++) {
        int candidate = (m + step) % self->count;
        if (!self->members [candidate].down)
            return candidate;
    }
    return -1;
}

//  Sends checkout k to the first coordinator up from target.  Returns 0,
//  or -1 when none is up or the send fails.
static inline int
cm_send (cm_t *self, size_t k, int target)
{
    target = cm_up_from (self, target);
    if (target < 0)
        return -1;
    self->routes [k] = (cm_route_t) { target, ph_now_ms (), 0 };
    return e2e_send_range (self->members [target].client, k, 1, false) == 1? 0: -1;
}

//  Sends checkouts first..last-1 round robin.  Returns 0, or -1.
static inline int
cm_send_range (cm_t *self, size_t first, size_t last)
{
    for (size_t k = first; k < last; k++)
        if (cm_send (self, k, (int) (k % (size_t) self->count)))
            return -1;
    return 0;
}

//  Files a reply; follows not_owner.  Returns 0, or -1 when a send fails.
static inline int
cm_reply (cm_t *self, const ck_client_reply_t *reply)
{
    e2e_book_record (self->book, reply);
    if (reply->command != CK_CMD_ERROR)
        return 0;
    long k = e2e_book_index (self->book, reply->error.checkout_id);
    if (k < 0 || self->book->items [k].terminal)
        return 0;
    int owner = reply->error.code == CK_NOT_OWNER? cm_member_of (self, reply->error.owner): -1;
    if (owner >= 0 && !self->members [owner].down)
        return cm_send (self, (size_t) k, owner);
    self->routes [k].resend_ms = ph_now_ms () + self->bounce_ms;
    return 0;
}

//  Takes what the clients have, for up to wait_ms, and sends again what
//  is due.  Returns 0, or -1 when a send fails.
static inline int
cm_pump (cm_t *self, int wait_ms)
{
    zmq_pollitem_t items [CM_MAX_MEMBERS];
    for (int m = 0; m < self->count; m++)
        items [m] = (zmq_pollitem_t) {
            zsock_resolve (ck_client_socket (self->members [m].client)), 0, ZMQ_POLLIN, 0 };
    int rc = 0;
    if (zmq_poll (items, self->count, wait_ms) > 0)
        for (int m = 0; m < self->count; m++)
            while (ck_client_recv (self->members [m].client, 0) != CK_CMD_NONE)
                rc |= cm_reply (self, ck_client_reply (self->members [m].client));
    int64_t now = ph_now_ms ();
    for (size_t k = 0; k < self->book->count; k++) {
        cm_route_t *route = &self->routes [k];
        if (self->book->items [k].terminal || route->sent_ms == 0)
            continue;
        if (route->resend_ms && now >= route->resend_ms)
            rc |= cm_send (self, k, route->target + 1);
        else
        if (now - route->sent_ms >= self->resend_ms)
            rc |= cm_send (self, k, self->members [route->target].down? route->target + 1
                                                                     : route->target);
    }
    return rc;
}

//  Pumps until every checkout is terminal, for up to timeout_ms.  Returns
//  0, or -1.
static inline int
cm_finish (cm_t *self, int timeout_ms)
{
    int64_t deadline = ph_now_ms () + timeout_ms;
    while (self->book->terminal < self->book->count && ph_now_ms () < deadline)
        cm_pump (self, 100);
    return self->book->terminal == self->book->count? 0: -1;
}

//  The stores agree with the RESULTs: every outcome as planned, one order,
//  one live authorization and one held reservation per confirmed checkout,
//  one saga per checkout and none left running.  uris: inventory, payment,
//  order.  Returns the number of problems, the first described in first.
static inline int
cm_check_stores (cm_t *self, const char *const uris [3], char first [E2E_PROBLEM_SIZE])
{
    int problems = e2e_check_plan (self->book, first);
    long long confirmed = 0;
    for (size_t k = 0; k < self->book->count; k++)
        confirmed += self->book->items [k].result.status == CK_STATUS_CONFIRMED;
    struct {
        const char *uri, *sql, *what;
        long long expected;
    } checks [] = {
        { uris [2], "SELECT count (*) FROM orders", "orders", confirmed },
        { uris [1], "SELECT count (*) FROM authorizations WHERE status = 'authorized'",
          "live authorizations", confirmed },
        { uris [0], "SELECT count (*) FROM reservations WHERE status = 'held'",
          "held reservations", confirmed },
        { self->log_uri, "SELECT count (*) FROM sagas", "sagas", (long long) self->book->count },
        { self->log_uri, "SELECT count (*) FROM sagas WHERE phase IN ('running', 'compensating')",
          "sagas not ended", 0 },
    };
    if (confirmed == 0 && !problems++)
        snprintf (first, E2E_PROBLEM_SIZE, "no checkout was confirmed");
    for (size_t i = 0; i < sizeof checks / sizeof checks [0]; i++) {
        long long found = pg_query_int (checks [i].uri, checks [i].sql);
        if (found != checks [i].expected && !problems++)
            snprintf (first, E2E_PROBLEM_SIZE, "%lld %s, not %lld", found, checks [i].what,
                      checks [i].expected);
    }
    return problems;
}

//  Writes the four stores' URIs where checkout-bench --verify --data reads
//  them (the group's dir).  uris: inventory, payment, order.  Returns 0, or -1.
static inline int
cm_write_uris (cm_t *self, e2e_group_t *g, const char *const uris [3])
{
    const char *names [] = { "inventory.uri", "payment.uri", "order.uri", "coordinator.uri" };
    const char *all [] = { uris [0], uris [1], uris [2], self->log_uri };
    for (int i = 0; i < 4; i++) {
        char path [PATH_MAX];
        e2e_path (g, names [i], path, sizeof path);
        FILE *file = fopen (path, "w");
        if (!file)
            return -1;
        fprintf (file, "%s\n", all [i]);
        fclose (file);
    }
    return 0;
}

#endif
