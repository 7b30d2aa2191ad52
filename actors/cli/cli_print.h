/*  cli_print.h - how the checkout CLI shows the coordinator's replies
    Readable text for people; --json output is the body itself (ck_body_to_json).
*/
#ifndef CLI_PRINT_H_INCLUDED
#define CLI_PRINT_H_INCLUDED

#include <stdio.h>
#include "checkout/protocol.h"

//  Prints a RESULT: status, order id or failed step and reason, the steps
//  compensated, the elapsed time. Can't fail.
void cli_print_result (FILE *out, const ck_result_t *result);

//  Prints a RESULT as above, then its history as a table. Can't fail.
void cli_print_status (FILE *out, const ck_result_t *result);

//  Prints history entries as a table with a header (nothing for none).
//  Can't fail.
void cli_print_history (FILE *out, const ck_history_entry_t *history, uint32_t count);

//  Writes a wall-clock time in ms as "2024-05-01T12:00:00.123Z" into
//  buffer and returns it. Can't fail.
const char *cli_print_time (uint64_t at_ms, char *buffer, size_t size);

//  Prints a PONG: the coordinator's version and uptime. Can't fail.
void cli_print_pong (FILE *out, const char *endpoint, const ck_pong_t *pong);

//  Prints an ERROR: its code and message. Can't fail.
void cli_print_error (FILE *out, const ck_error_t *error);

//  Prints the msgpack body as one line of JSON; returns 0, or -1 when the
//  body is not valid msgpack (nothing printed).
int cli_print_json (FILE *out, const void *body, size_t size);

#endif
