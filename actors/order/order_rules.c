/*  order_rules.c - the order participant's business rules
    Creates the order of a checkout whose destination is served (the pivot).
*/
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <czmq.h>
#include "ledger_pg.h"
#include "order_rules.h"

//  The assigned ISO 3166-1 alpha-2 codes (249), which "all" stands for
static const char s_iso_countries [] =
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI "
    "BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN "
    "CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK "
    "FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM "
    "HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN "
    "KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK "
    "ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP "
    "NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW "
    "SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF "
    "TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI "
    "VN VU WF WS YE YT ZA ZM ZW";

#define COUNTRY_SLOTS (26 * 26)

struct _order_rules_t {
    order_repo_t *repo;                 //  owned
    ledger_t *ledger;                   //  borrowed
    bool served [COUNTRY_SLOTS];        //  by s_slot of the code
};

//  The slot of a two-letter upper-case code, or -1 if s does not start
//  with one.
static int
s_slot (const char *s)
{
    if (s [0] < 'A' || s [0] > 'Z' || s [1] < 'A' || s [1] > 'Z')
        return -1;
    return (s [0] - 'A') * 26 + (s [1] - 'A');
}

//  Parses "all", "all-XX-YY" or "XX,YY" into set; returns 0, or -1 if
//  served is malformed.
static int
s_parse_served (const char *served, bool *set)
{
    memset (set, 0, COUNTRY_SLOTS * sizeof (bool));
    if (strncmp (served, "all", 3) == 0) {
        for (const char *code = s_iso_countries; *code; code += code [2]? 3: 2)
            set [s_slot (code)] = true;
        for (const char *s = served + 3; *s; s += 3) {
            int slot = s [0] == '-'? s_slot (s + 1): -1;
            if (slot == -1)
                return -1;
            set [slot] = false;
        }
        return 0;
    }
    for (const char *s = served; ; s += 3) {
        int slot = s_slot (s);
        if (slot == -1 || (s [2] != ',' && s [2] != 0))
            return -1;
        set [slot] = true;
        if (s [2] == 0)
            return 0;
    }
}

bool
order_rules_served_valid (const char *served)
{
    bool set [COUNTRY_SLOTS];
    return served && s_parse_served (served, set) == 0;
}

order_rules_t *
order_rules_new (order_repo_t **repo_p, ledger_t *ledger, const char *served)
{
    assert (repo_p && *repo_p);
    assert (ledger);
    if (!served)
        served = ORDER_RULES_SERVED_DEFAULT;
    order_rules_t *self = (order_rules_t *) zmalloc (sizeof (order_rules_t));
    self->repo = *repo_p;
    *repo_p = NULL;
    self->ledger = ledger;
    if (s_parse_served (served, self->served)) {
        zsys_error ("order: served=%s error=expected all, all-XX-YY or XX,YY", served);
        order_rules_destroy (&self);
    }
    return self;
}

void
order_rules_destroy (order_rules_t **self_p)
{
    assert (self_p);
    order_rules_t *self = *self_p;
    if (self) {
        self->repo->destroy (&self->repo);
        free (self);
        *self_p = NULL;
    }
}

bool
order_rules_serves (order_rules_t *self, const char *country)
{
    assert (self);
    assert (country);
    int slot = s_slot (country);
    return slot != -1 && country [2] == 0 && self->served [slot];
}

//  Refuses a destination that is not served; an ok order is kept once it
//  has its number
static int
s_create (void *state, const ck_request_t *request, const ledger_entry_t *forward,
          ledger_entry_t *answer)
{
    (void) forward;
    order_rules_t *self = (order_rules_t *) state;
    if (!order_rules_serves (self, request->ship_to.country)) {
        answer->outcome = CK_OUTCOME_REJECTED;
        snprintf (answer->reason.code, sizeof answer->reason.code,
                  "destination_unserviceable");
        snprintf (answer->reason.message, sizeof answer->reason.message,
                  "we do not ship to %s", request->ship_to.country);
        return 0;
    }
    if (request->item_count > CK_MAX_ITEMS || request->amount > INT64_MAX) {
        zsys_warning ("order: saga=%s error=bad items or amount", request->saga_id);
        return -1;
    }
    answer->outcome = CK_OUTCOME_OK;
    return 0;
}

static int
s_keep (void *state, const ck_request_t *request, const ledger_entry_t *answer)
{
    order_rules_t *self = (order_rules_t *) state;
    return self->repo->create (self->repo, answer->id, request);
}

static const ledger_handler_t s_create_handler = { s_create, s_keep };

int
order_rules_create (void *state, const ck_request_t *request, ck_reply_t *reply)
{
    assert (state);
    assert (request->type == CK_TYPE_CREATE_ORDER);
    order_rules_t *self = (order_rules_t *) state;
    return ledger_run (self->ledger, &s_create_handler, self, request, reply);
}

//  A CreateOrder's server call: the rules decide here, the rest is the
//  server function's (order_repo_pg.c)
static int
s_make (void *state, const ck_request_t *request, pg_statement_t *call)
{
    order_rules_t *self = (order_rules_t *) state;
    if (request->type != CK_TYPE_CREATE_ORDER)
        return -1;
    ledger_entry_t decided;
    decided.outcome = CK_OUTCOME_NONE;
    memset (&decided.reason, 0, sizeof decided.reason);
    if (s_create (self, request, NULL, &decided))
        return -1;
    return self->repo->call (self->repo, request, &decided, call);
}

void
order_rules_batch (void *state, const ck_request_t *const *requests,
                   ck_reply_t *const *replies, size_t count)
{
    assert (state);
    order_rules_t *self = (order_rules_t *) state;
    assert (self->repo->call);
    ledger_pg_run (self->ledger, s_make, self, requests, replies, count);
}

int
order_rules_handle (void *state, const ck_request_t *request, ck_reply_t *reply)
{
    if (request->type == CK_TYPE_CREATE_ORDER)
        return order_rules_create (state, request, reply);
    zsys_warning ("order: saga=%s type=%d error=not an order request",
                  request->saga_id, (int) request->type);
    return -1;
}
