/*  sdk_participant.c - a small payment participant built against the installed SDK alone
    Authorizes every payment and voids on request, through the runtime.

    Usage: sdk_participant BACKEND INSTANCE
    Runs until SIGTERM or SIGINT.  Its idempotency record is a table in
    memory, which is enough for an example: a real participant keeps it in
    the same transaction as its effect (docs/participant-runtime.md).
*/
#include <checkout/checkout.h>
#include <czmq.h>
#include <stdio.h>

typedef struct {
    zhash_t *answers;                   //  saga_id/type -> result id
    unsigned next;
} gateway_t;

//  The first answer for (saga_id, type), made by make when there is none
static const char *
s_answer (gateway_t *self, const ck_request_t *request, const char *prefix)
{
    char key [CK_ID_SIZE * 2];
    snprintf (key, sizeof key, "%s/%d", request->saga_id, (int) request->type);
    const char *known = zhash_lookup (self->answers, key);
    if (known)
        return known;
    char id [CK_ID_SIZE];
    snprintf (id, sizeof id, "%s-%u", prefix, ++self->next);
    zhash_insert (self->answers, key, strdup (id));
    zhash_freefn (self->answers, key, free);
    return zhash_lookup (self->answers, key);
}

static int
s_authorize (void *state, const ck_request_t *request, ck_reply_t *reply)
{
    reply->outcome = CK_OUTCOME_OK;
    snprintf (reply->result_id, sizeof reply->result_id, "%s", s_answer (state, request, "sdk-auth"));
    printf ("authorized saga=%s amount=%llu\n", request->saga_id,
            (unsigned long long) request->amount);
    fflush (stdout);
    return 0;
}

static int
s_void (void *state, const ck_request_t *request, ck_reply_t *reply)
{
    s_answer (state, request, "sdk-void");
    reply->outcome = CK_OUTCOME_OK;
    return 0;
}

int
main (int argc, char **argv)
{
    if (argc != 3) {
        fprintf (stderr, "usage: sdk_participant BACKEND INSTANCE\n");
        return 2;
    }
    gateway_t gateway = { zhash_new (), 0 };
    const char *endpoints [] = { argv [1] };
    ck_participant_config_t config = {
        .service = CK_SERVICE_PAYMENT, .instance = argv [2], .capacity = 8,
        .endpoints = endpoints, .endpoint_count = 1,
        .heartbeat_ivl_ms = 200, .liveness = 5,
        .state = &gateway
    };
    config.handlers [CK_TYPE_AUTHORIZE_PAYMENT] = s_authorize;
    config.handlers [CK_TYPE_VOID_PAYMENT] = s_void;
    ck_participant_t *participant = ck_participant_new (&config);
    if (!participant) {
        zhash_destroy (&gateway.answers);
        return 1;
    }
    while (!zsys_interrupted)
        zclock_sleep (100);
    ck_participant_destroy (&participant);
    zhash_destroy (&gateway.answers);
    return 0;
}
