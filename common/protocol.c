/*  protocol.c - wire names of the protocol's vocabularies
    One table per vocabulary; lookups by name for the decoder and framing.
    Services and request types start with the built-in ones and may grow
    while a process starts (a loaded step table); the others are closed.
*/
#include <stdio.h>
#include <string.h>
#include "checkout/protocol.h"

#define COUNT_OF(a) (sizeof (a) / sizeof ((a) [0]))

static const char *s_error_names [] = {
    NULL, "bad_frame", "bad_request", "amount_mismatch", "unsupported_version",
    "too_large", "overloaded", "conflict", "unknown_checkout",
    "forbidden", "not_owner"
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
    "no checkout with this checkout_id was ever accepted",
    "the key this connection authenticated with may not send this command",
    "another coordinator owns this checkout's partition: ask the one named in owner"
};
//  A request type as the vocabulary knows it
typedef struct {
    char name [CK_NAME_SIZE];
    ck_service_t service;
    bool compensation;
    char result_key [CK_NAME_SIZE];     //  "" when none
    int32_t code;                       //  its stable number in stores
} type_entry_t;

static char s_service_names [CK_SERVICE_MAX][CK_NAME_SIZE] = {
    "", "inventory", "payment", "order"
};
static int s_service_count = CK_SERVICE_COUNT;

static type_entry_t s_types [CK_TYPE_MAX] = {
    { "", CK_SERVICE_NONE, false, "", 0 },
    { "ReserveInventory", CK_SERVICE_INVENTORY, false, "reservation_id", 1 },
    { "ReleaseInventory", CK_SERVICE_INVENTORY, true, "", 2 },
    { "AuthorizePayment", CK_SERVICE_PAYMENT, false, "authorization_id", 3 },
    { "VoidPayment", CK_SERVICE_PAYMENT, true, "", 4 },
    { "CreateOrder", CK_SERVICE_ORDER, false, "order_id", 5 }
};
static int s_type_count = CK_TYPE_COUNT;

static const char *s_outcome_names [] = {
    NULL, "ok", "rejected", "error", "timeout"
};
static const char *s_status_names [] = {
    NULL, "confirmed", "failed", "pending", "stuck"
};
static const char *s_command_names [] = {
    NULL, "CHECKOUT", "STATUS", "PING", "ACCEPTED", "RESULT", "ERROR", "PONG",
    "READY", "REQUEST", "REPLY", "HEARTBEAT", "DISCONNECT",
    "LIST", "DESCRIBE", "RETRY", "CANCEL", "SAGAS", "DESCRIPTION"
};
static const char *s_saga_state_names [] = {
    NULL, "running", "stuck", "confirmed", "failed"
};
static const char *s_event_topics [] = {
    NULL, "saga.started", "saga.step", "saga.compensating", "saga.confirmed",
    "saga.failed", "saga.stuck", "worker.joined", "worker.lost", "socket.",
    "stats", "saga.retried", "saga.cancelled", "security.refused"
};

_Static_assert (COUNT_OF (s_error_names) == CK_ERROR_CODE_COUNT, "error names");
_Static_assert (COUNT_OF (s_error_texts) == CK_ERROR_CODE_COUNT, "error texts");
_Static_assert (CK_SERVICE_COUNT == 4 && CK_TYPE_COUNT == 6, "built-in tables");
_Static_assert (COUNT_OF (s_outcome_names) == CK_OUTCOME_COUNT, "outcome names");
_Static_assert (COUNT_OF (s_status_names) == CK_STATUS_COUNT, "status names");
_Static_assert (COUNT_OF (s_command_names) == CK_CMD_COUNT, "command names");
_Static_assert (COUNT_OF (s_event_topics) == CK_EVENT_COUNT, "event topics");
_Static_assert (COUNT_OF (s_saga_state_names) == CK_SAGA_STATE_COUNT, "saga states");

//  True when a equals b, a NULL b counting as ""
static bool
streq_or_empty (const char *a, const char *b)
{
    return strcmp (a, b? b: "") == 0;
}

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
    return (int) service > 0 && (int) service < s_service_count? s_service_names [service]: NULL;
}

static bool
s_known_type (ck_type_t type)
{
    return (int) type > 0 && (int) type < s_type_count;
}

const char *
ck_type_name (ck_type_t type)
{
    return s_known_type (type)? s_types [type].name: NULL;
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
ck_saga_state_name (ck_saga_state_t state)
{
    return s_name (s_saga_state_names, COUNT_OF (s_saga_state_names), state);
}

ck_saga_state_t
ck_saga_state_lookup (const char *name, size_t len)
{
    return (ck_saga_state_t) s_lookup (s_saga_state_names, COUNT_OF (s_saga_state_names),
                                       name, len);
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
    return s_known_type (type)? s_types [type].service: CK_SERVICE_NONE;
}

bool
ck_type_is_compensation (ck_type_t type)
{
    return s_known_type (type) && s_types [type].compensation;
}

const char *
ck_type_result_key (ck_type_t type)
{
    if (!s_known_type (type) || !s_types [type].result_key [0])
        return NULL;
    return s_types [type].result_key;
}

uint32_t
ck_partition_of (const char *checkout_id, uint32_t count)
{
    if (count == 0)
        return 0;
    uint32_t hash = 2166136261u;
    for (const unsigned char *c = (const unsigned char *) checkout_id; *c; c++)
        hash = (hash ^ *c) * 16777619u;
    return hash % count;
}

int32_t
ck_type_code (ck_type_t type)
{
    return s_known_type (type)? s_types [type].code: 0;
}

//  True when name is 1..CK_NAME_MAX bytes of [A-Za-z0-9_]
static bool
s_valid_name (const char *name)
{
    size_t len = name? strlen (name): 0;
    if (len == 0 || len > CK_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!(name [i] == '_' || (name [i] >= '0' && name [i] <= '9')
        ||   ((name [i] | 0x20) >= 'a' && (name [i] | 0x20) <= 'z')))
            return false;
    return true;
}

ck_service_t
ck_service_lookup (const char *name, size_t len)
{
    for (int i = 1; i < s_service_count; i++)
        if (strlen (s_service_names [i]) == len && memcmp (s_service_names [i], name, len) == 0)
            return (ck_service_t) i;
    return CK_SERVICE_NONE;
}

ck_type_t
ck_type_lookup (const char *name, size_t len)
{
    for (int i = 1; i < s_type_count; i++)
        if (strlen (s_types [i].name) == len && memcmp (s_types [i].name, name, len) == 0)
            return (ck_type_t) i;
    return CK_TYPE_NONE;
}

ck_service_t
ck_service_add (const char *name)
{
    if (!s_valid_name (name))
        return CK_SERVICE_NONE;
    ck_service_t known = ck_service_lookup (name, strlen (name));
    if (known || s_service_count == CK_SERVICE_MAX)
        return known;
    strcpy (s_service_names [s_service_count], name);
    return (ck_service_t) s_service_count++;
}

//  An added type's code: FNV-1a of its name, above the built-in numbers
static int32_t
s_type_code (const char *name)
{
    uint32_t hash = 2166136261u;
    for (const char *c = name; *c; c++)
        hash = (hash ^ (uint8_t) *c) * 16777619u;
    return (int32_t) (1000 + hash % 2000000000u);
}

ck_type_t
ck_type_add (const char *name, ck_service_t service, bool compensation,
             const char *result_key)
{
    if (!s_valid_name (name) || !ck_service_name (service)
    ||  (result_key && !s_valid_name (result_key)) || (compensation && result_key))
        return CK_TYPE_NONE;
    ck_type_t known = ck_type_lookup (name, strlen (name));
    if (known) {
        const type_entry_t *entry = &s_types [known];
        bool same = entry->service == service && entry->compensation == compensation
                 && streq_or_empty (entry->result_key, result_key);
        return same? known: CK_TYPE_NONE;
    }
    int32_t code = s_type_code (name);
    for (int i = 1; i < s_type_count; i++)
        if (s_types [i].code == code)
            return CK_TYPE_NONE;        //  two names, one number: refuse
    if (s_type_count == CK_TYPE_MAX)
        return CK_TYPE_NONE;
    type_entry_t *entry = &s_types [s_type_count];
    snprintf (entry->name, sizeof entry->name, "%s", name);
    entry->service = service;
    entry->compensation = compensation;
    snprintf (entry->result_key, sizeof entry->result_key, "%s", result_key? result_key: "");
    entry->code = code;
    return (ck_type_t) s_type_count++;
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
