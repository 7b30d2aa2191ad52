/*  cli_print.c - how the checkout CLI shows the coordinator's replies
    One line per fact, aligned; times in UTC so that outputs compare across hosts.
*/
#include <inttypes.h>
#include <time.h>
#include "cli_print.h"
#include "checkout/codec.h"

static const char *
s_or (const char *text, const char *fallback)
{
    return text && *text? text: fallback;
}

//  "inventory, payment" into buffer; "-" when there is none
static const char *
s_steps (const ck_result_t *result, char *buffer, size_t size)
{
    snprintf (buffer, size, "-");
    size_t used = 0;
    for (uint32_t i = 0; i < result->compensated_count && i < CK_MAX_STEPS; i++) {
        int written = snprintf (buffer + used, size - used, "%s%s", i? ", ": "",
                                s_or (ck_service_name (result->compensated [i]), "?"));
        if (written < 0 || (size_t) written >= size - used)
            break;
        used += (size_t) written;
    }
    return buffer;
}

//  ck_reason_t as "code (message) sku=SKU"
static void
s_print_reason (FILE *out, const ck_reason_t *reason)
{
    fprintf (out, "%s", s_or (reason->code, "-"));
    if (*reason->message)
        fprintf (out, " (%s)", reason->message);
    if (*reason->sku)
        fprintf (out, " sku=%s", reason->sku);
}

//  Prints a RESULT. Can't fail.
void
cli_print_result (FILE *out, const ck_result_t *result)
{
    const char *status = s_or (ck_status_name (result->status), "?");
    fprintf (out, "checkout %s: %s\n", result->checkout_id, status);
    fprintf (out, "  saga:        %s\n", s_or (result->saga_id, "-"));
    if (*result->order_id)
        fprintf (out, "  order:       %s\n", result->order_id);
    if (result->failed_step != CK_SERVICE_NONE)
        fprintf (out, "  failed step: %s\n", s_or (ck_service_name (result->failed_step), "?"));
    if (*result->reason.code) {
        fprintf (out, "  reason:      ");
        s_print_reason (out, &result->reason);
        fprintf (out, "\n");
    }
    if (result->status == CK_STATUS_FAILED || result->compensated_count) {
        char steps [128];
        fprintf (out, "  compensated: %s\n", s_steps (result, steps, sizeof steps));
    }
    fprintf (out, "  elapsed:     %.3f ms\n", (double) result->elapsed_us / 1000.0);
}

//  "2024-05-01T12:00:00.123Z" for a wall-clock time in ms
static const char *
s_time (uint64_t at_ms, char *buffer, size_t size)
{
    time_t seconds = (time_t) (at_ms / 1000);
    struct tm tm;
    if (!gmtime_r (&seconds, &tm)) {
        snprintf (buffer, size, "%" PRIu64, at_ms);
        return buffer;
    }
    size_t used = strftime (buffer, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf (buffer + used, size - used, ".%03uZ", (unsigned) (at_ms % 1000));
    return buffer;
}

static void
s_print_entry (FILE *out, const ck_history_entry_t *entry)
{
    char when [64], attempt [16];
    snprintf (attempt, sizeof attempt, "%u", entry->attempt);
    fprintf (out, "  %-24s  %-13s %-9s %-17s %-7s %-8s ",
             s_time (entry->at_ms, when, sizeof when), entry->event,
             s_or (ck_service_name (entry->step), "-"),
             s_or (ck_type_name (entry->type), "-"),
             entry->attempt? attempt: "-",
             s_or (ck_outcome_name (entry->outcome), "-"));
    if (*entry->reason.code)
        s_print_reason (out, &entry->reason);
    else
        fprintf (out, "-");
    fprintf (out, "\n");
}

//  Prints history entries as a table, after a header. Can't fail.
void
cli_print_history (FILE *out, const ck_history_entry_t *history, uint32_t count)
{
    if (count == 0)
        return;
    fprintf (out, "  %-24s  %-13s %-9s %-17s %-7s %-8s %s\n", "TIME", "EVENT", "STEP",
             "TYPE", "ATTEMPT", "OUTCOME", "REASON");
    for (uint32_t i = 0; i < count && i < CK_MAX_HISTORY; i++)
        s_print_entry (out, &history [i]);
}

//  Prints a RESULT and its history. Can't fail.
void
cli_print_status (FILE *out, const ck_result_t *result)
{
    cli_print_result (out, result);
    fprintf (out, "  history:     %u entries\n", result->history_count);
    cli_print_history (out, result->history, result->history_count);
}

//  Prints a time as s_time does. Can't fail.
const char *
cli_print_time (uint64_t at_ms, char *buffer, size_t size)
{
    return s_time (at_ms, buffer, size);
}

//  Prints a PONG. Can't fail.
void
cli_print_pong (FILE *out, const char *endpoint, const ck_pong_t *pong)
{
    fprintf (out, "coordinator %s: version %s, uptime %.3f s", endpoint,
             s_or (pong->version, "?"), (double) pong->uptime_ms / 1000.0);
    for (uint32_t i = 0; i < pong->unserved_count; i++)
        fprintf (out, "%s%s", i? ", ": "; no instance of: ",
                 s_or (ck_service_name (pong->unserved [i]), "?"));
    fprintf (out, "\n");
}

//  Prints an ERROR. Can't fail.
void
cli_print_error (FILE *out, const ck_error_t *error)
{
    fprintf (out, "checkout: error %s: %s", s_or (ck_error_code_name (error->code), "?"),
             s_or (error->message, "(no message)"));
    if (*error->checkout_id)
        fprintf (out, " (checkout %s)", error->checkout_id);
    fprintf (out, "\n");
}

//  Prints the body as one JSON line; 0, or -1 when it is not msgpack.
int
cli_print_json (FILE *out, const void *body, size_t size)
{
    ck_buf_t json;
    ck_buf_init (&json);
    int rc = body? ck_body_to_json (body, size, &json): -1;
    if (rc == 0)
        fprintf (out, "%.*s\n", (int) json.size, json.data);
    ck_buf_free (&json);
    return rc;
}
