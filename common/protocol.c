/*  protocol.c - wire names of the protocol's closed vocabularies
    One table per vocabulary; lookups by name for the decoder and framing.
*/
#include <string.h>
#include "protocol.h"

#define COUNT_OF(a) (sizeof (a) / sizeof ((a) [0]))

static const char *s_error_names [] = {
    NULL, "bad_frame", "bad_request", "amount_mismatch", "unsupported_version",
    "too_large", "overloaded", "conflict", "unknown_checkout"
};
static const char *s_error_texts [] = {
    NULL,
    "the message's frames, signature or command are not of the protocol",
    "the body is not a valid message",
    "amount is not the sum of qty x unit_price over the items",
    "this message version is not spoken here",
    "the body is larger than 64 KiB",
    "too many checkouts in flight: retry later",
    "this checkout_id is already used by a different cart",
    "no checkout with this checkout_id was ever accepted"
};
static const char *s_service_names [] = {
    NULL, "inventory", "payment", "order"
};
static const char *s_type_names [] = {
    NULL, "ReserveInventory", "ReleaseInventory", "AuthorizePayment",
    "VoidPayment", "CreateOrder"
};
static const ck_service_t s_type_services [] = {
    CK_SERVICE_NONE, CK_SERVICE_INVENTORY, CK_SERVICE_INVENTORY,
    CK_SERVICE_PAYMENT, CK_SERVICE_PAYMENT, CK_SERVICE_ORDER
};
static const char *s_outcome_names [] = {
    NULL, "ok", "rejected", "error", "timeout"
};
static const char *s_status_names [] = {
    NULL, "confirmed", "failed", "pending", "stuck"
};
static const char *s_command_names [] = {
    NULL, "CHECKOUT", "STATUS", "PING", "ACCEPTED", "RESULT", "ERROR", "PONG",
    "READY", "REQUEST", "REPLY", "HEARTBEAT", "DISCONNECT"
};
static const char *s_event_topics [] = {
    NULL, "saga.started", "saga.step", "saga.compensating", "saga.confirmed",
    "saga.failed", "saga.stuck", "worker.joined", "worker.lost", "socket.",
    "stats"
};

_Static_assert (COUNT_OF (s_error_names) == CK_ERROR_CODE_COUNT, "error names");
_Static_assert (COUNT_OF (s_error_texts) == CK_ERROR_CODE_COUNT, "error texts");
_Static_assert (COUNT_OF (s_service_names) == CK_SERVICE_COUNT, "service names");
_Static_assert (COUNT_OF (s_type_names) == CK_TYPE_COUNT, "type names");
_Static_assert (COUNT_OF (s_type_services) == CK_TYPE_COUNT, "type services");
_Static_assert (COUNT_OF (s_outcome_names) == CK_OUTCOME_COUNT, "outcome names");
_Static_assert (COUNT_OF (s_status_names) == CK_STATUS_COUNT, "status names");
_Static_assert (COUNT_OF (s_command_names) == CK_CMD_COUNT, "command names");
_Static_assert (COUNT_OF (s_event_topics) == CK_EVENT_COUNT, "event topics");

static const char *
s_name (const char **table, size_t count, int value)
{
    return value > 0 && (size_t) value < count? table [value]: NULL;
}

static int
s_lookup (const char **table, size_t count, const char *name, size_t len)
{
    for (size_t i = 1; i < count; i++)
        if (strlen (table [i]) == len && memcmp (table [i], name, len) == 0)
            return (int) i;
    return 0;
}

const char *
ck_error_code_name (ck_error_code_t code)
{
    return s_name (s_error_names, COUNT_OF (s_error_names), code);
}

const char *
ck_error_code_text (ck_error_code_t code)
{
    return s_name (s_error_texts, COUNT_OF (s_error_texts), code);
}

const char *
ck_service_name (ck_service_t service)
{
    return s_name (s_service_names, COUNT_OF (s_service_names), service);
}

const char *
ck_type_name (ck_type_t type)
{
    return s_name (s_type_names, COUNT_OF (s_type_names), type);
}

const char *
ck_outcome_name (ck_outcome_t outcome)
{
    return s_name (s_outcome_names, COUNT_OF (s_outcome_names), outcome);
}

const char *
ck_status_name (ck_status_t status)
{
    return s_name (s_status_names, COUNT_OF (s_status_names), status);
}

const char *
ck_command_name (ck_command_t command)
{
    return s_name (s_command_names, COUNT_OF (s_command_names), command);
}

const char *
ck_event_topic (ck_event_kind_t kind)
{
    return s_name (s_event_topics, COUNT_OF (s_event_topics), kind);
}

ck_service_t
ck_type_service (ck_type_t type)
{
    return type > 0 && type < CK_TYPE_COUNT? s_type_services [type]: CK_SERVICE_NONE;
}

bool
ck_type_is_compensation (ck_type_t type)
{
    return type == CK_TYPE_RELEASE_INVENTORY || type == CK_TYPE_VOID_PAYMENT;
}

ck_service_t
ck_service_lookup (const char *name, size_t len)
{
    return (ck_service_t) s_lookup (s_service_names, COUNT_OF (s_service_names), name, len);
}

ck_type_t
ck_type_lookup (const char *name, size_t len)
{
    return (ck_type_t) s_lookup (s_type_names, COUNT_OF (s_type_names), name, len);
}

ck_command_t
ck_command_lookup (const char *name, size_t len)
{
    return (ck_command_t) s_lookup (s_command_names, COUNT_OF (s_command_names), name, len);
}

ck_event_kind_t
ck_event_lookup (const char *topic, size_t len)
{
    const size_t prefix = strlen ("socket.");
    if (len > prefix && memcmp (topic, "socket.", prefix) == 0)
        return CK_EVENT_SOCKET;
    ck_event_kind_t kind = (ck_event_kind_t)
        s_lookup (s_event_topics, COUNT_OF (s_event_topics), topic, len);
    return kind == CK_EVENT_SOCKET? CK_EVENT_NONE: kind;
}
