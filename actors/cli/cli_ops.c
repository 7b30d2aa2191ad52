/*  cli_ops.c - the checkout CLI's operator commands
    list (paged through the coordinator), describe, retry and cancel.
*/
#include <czmq.h>
#include <inttypes.h>
#include <pwd.h>
#include "cli_ops.h"
#include "cli_print.h"
#include "checkout/codec.h"

#define LIST_DEFAULT   20               //  sagas shown without --limit
#define LIST_MAX       100000           //  --limit's bound (pages of CK_MAX_LIST)

static const char *
s_or (const char *text, const char *fallback)
{
    return text && *text? text: fallback;
}

//  --since: N[smhd] ago, or a wall-clock time in ms since the epoch
static int
s_since (const char *text, uint64_t now_ms, uint64_t *since_ms)
{
    char *end;
    errno = 0;
    unsigned long long value = strtoull (text, &end, 10);
    if (end == text || errno || *text == '-')
        return -1;
    uint64_t unit = streq (end, "s")? 1000: streq (end, "m")? 60000:
                    streq (end, "h")? 3600000: streq (end, "d")? 86400000: 0;
    if (*end == 0) {
        *since_ms = value;              //  ms since the epoch
        return 0;
    }
    if (unit == 0 || value > now_ms / unit)
        return -1;
    *since_ms = now_ms - value * unit;
    return 0;
}

int
cli_ops_list_request (ck_config_t *config, ck_list_t *request, uint32_t *total)
{
    memset (request, 0, sizeof *request);
    const char *status = ck_config_str (config, "status");
    const char *since = ck_config_str (config, "since");
    const char *cursor = ck_config_str (config, "cursor");
    if (status && !(request->status = ck_saga_state_lookup (status, strlen (status)))) {
        ck_config_usage_error (config, "--status '%.64s': running, stuck, confirmed or "
                               "failed", status);
        return -1;
    }
    if (since && s_since (since, (uint64_t) zclock_time (), &request->since_ms)) {
        ck_config_usage_error (config, "--since '%.64s': N followed by s, m, h or d (that "
                               "long ago), or ms since the epoch", since);
        return -1;
    }
    if (cursor && !ck_id_valid (cursor, strlen (cursor))) {
        ck_config_usage_error (config, "--cursor '%.64s': not a saga id", cursor);
        return -1;
    }
    if (cursor)
        snprintf (request->cursor, sizeof request->cursor, "%s", cursor);
    *total = ck_config_str (config, "limit")? (uint32_t) ck_config_int (config, "limit")
                                            : LIST_DEFAULT;
    if (*total == 0 || *total > LIST_MAX) {
        ck_config_usage_error (config, "--limit: 1..%d", LIST_MAX);
        return -1;
    }
    return 0;
}

int
cli_ops_by (ck_config_t *config, char *by)
{
    const char *given = ck_config_str (config, "by");
    if (given && (strlen (given) == 0 || strlen (given) > CK_BY_MAX)) {
        ck_config_usage_error (config, "--by: 1..%d bytes", CK_BY_MAX);
        return -1;
    }
    const struct passwd *user = given? NULL: getpwuid (geteuid ());
    if (given)
        snprintf (by, CK_BY_SIZE, "%s", given);
    else
    if (user && user->pw_name && *user->pw_name)
        snprintf (by, CK_BY_SIZE, "%.64s", user->pw_name);
    else
        snprintf (by, CK_BY_SIZE, "uid-%u", (unsigned) geteuid ());
    return 0;
}

ck_command_t
cli_ops_list (ck_client_t *client, const ck_list_t *first, uint32_t total, bool json,
              int timeout_ms)
{
    ck_list_t request = *first;
    uint32_t shown = 0;
    uint64_t now_ms = (uint64_t) zclock_time ();
    while (true) {
        uint32_t left = total - shown;
        request.limit = left < CK_MAX_LIST? left: CK_MAX_LIST;
        ck_command_t answer = ck_client_list (client, &request, timeout_ms);
        if (answer != CK_CMD_SAGAS)
            return answer;
        const ck_client_reply_t *reply = ck_client_reply (client);
        if (json)
            cli_print_json (stdout, reply->body, reply->body_size);
        else
            cli_ops_print_sagas (stdout, &reply->sagas, now_ms, shown == 0);
        shown += reply->sagas.saga_count;
        if (shown >= total || !reply->sagas.next [0])
            return answer;
        memcpy (request.cursor, reply->sagas.next, CK_ID_SIZE);
    }
}

//  "45s", "12m", "3h", "2d"
static const char *
s_age (uint64_t now_ms, uint64_t at_ms, char *buffer, size_t size)
{
    uint64_t age = now_ms > at_ms? (now_ms - at_ms) / 1000: 0;
    if (age < 120)
        snprintf (buffer, size, "%" PRIu64 "s", age);
    else
    if (age < 7200)
        snprintf (buffer, size, "%" PRIu64 "m", age / 60);
    else
    if (age < 172800)
        snprintf (buffer, size, "%" PRIu64 "h", age / 3600);
    else
        snprintf (buffer, size, "%" PRIu64 "d", age / 86400);
    return buffer;
}

void
cli_ops_print_sagas (FILE *out, const ck_sagas_t *sagas, uint64_t now_ms, bool header)
{
    if (header)
        fprintf (out, "%-24s %-30s %-9s %-9s %-17s %-7s %s\n", "CHECKOUT_ID", "SAGA_ID",
                 "STATUS", "STEP", "TYPE", "ATTEMPT", "AGE");
    for (uint32_t i = 0; i < sagas->saga_count && i < CK_MAX_LIST; i++) {
        const ck_saga_summary_t *saga = &sagas->sagas [i];
        char attempt [16], age [32];
        snprintf (attempt, sizeof attempt, "%u", saga->attempt);
        fprintf (out, "%-24s %-30s %-9s %-9s %-17s %-7s %s\n", saga->checkout_id,
                 saga->saga_id, s_or (ck_saga_state_name (saga->status), "?"),
                 s_or (ck_service_name (saga->step), "-"), s_or (ck_type_name (saga->type), "-"),
                 saga->attempt? attempt: "-", s_age (now_ms, saga->accepted_ms, age, sizeof age));
    }
}

void
cli_ops_print_description (FILE *out, const ck_description_t *d)
{
    char when [64];
    fprintf (out, "checkout %s: %s (%s)\n", d->checkout_id,
             s_or (ck_saga_state_name (d->status), "?"), d->phase);
    fprintf (out, "  saga:        %s\n", d->saga_id);
    fprintf (out, "  accepted:    %s\n", cli_print_time (d->accepted_ms, when, sizeof when));
    if (d->elapsed_us)
        fprintf (out, "  elapsed:     %.3f ms\n", (double) d->elapsed_us / 1000.0);
    fprintf (out, "  cart:        %s customer %s, %" PRIu64 " %s, pay %s, ship to %s\n",
             d->cart_id, d->customer_id, d->amount, d->currency, d->payment_method,
             d->ship_to.country);
    for (uint32_t i = 0; i < d->item_count && i < CK_MAX_ITEMS; i++)
        fprintf (out, "    %-24s x %-6u at %" PRIu64 "\n", d->items [i].sku, d->items [i].qty,
                 d->items [i].unit_price);
    fprintf (out, "  steps:\n");
    for (uint32_t i = 0; i < d->step_count && i < CK_MAX_STEPS; i++) {
        const ck_step_view_t *step = &d->steps [i];
        fprintf (out, "    %-10s %-17s %-17s %-13s %-12s %s\n",
                 s_or (ck_service_name (step->step), "?"), s_or (ck_type_name (step->action), "?"),
                 s_or (ck_type_name (step->compensation), "-"), step->kind, step->state,
                 s_or (step->result_id, "-"));
    }
    if (d->type)
        fprintf (out, "  current:     %s attempt %u (%u counted)\n", ck_type_name (d->type),
                 d->attempt, d->counted);
    if (d->failed_step)
        fprintf (out, "  failed step: %s\n", s_or (ck_service_name (d->failed_step), "?"));
    if (*d->reason.code)
        fprintf (out, "  reason:      %s (%s)\n", d->reason.code, d->reason.message);
    fprintf (out, "  history:     %u of %" PRIu64 " entries\n", d->history_count,
             d->history_total);
    cli_print_history (out, d->history, d->history_count);
}
