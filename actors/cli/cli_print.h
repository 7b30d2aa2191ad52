/*  cli_print.h - how the checkout CLI shows the coordinator's replies
    Readable text for people; --json output is the body itself (ck_body_to_json).
*/
#ifndef CLI_PRINT_H_INCLUDED
#define CLI_PRINT_H_INCLUDED

#include <stdio.h>
#include "protocol.h"

//  Prints a RESULT: status, order id or failed step and reason, the steps
//  compensated, the elapsed time. Can't fail.
void cli_print_result (FILE *out, const ck_result_t *result);

//  Prints a RESULT as above, then its history as a table. Can't fail.
void cli_print_status (FILE *out, const ck_result_t *result);

//  Prints a PONG: the coordinator's version and uptime. Can't fail.
void cli_print_pong (FILE *out, const char *endpoint, const ck_pong_t *pong);

//  Prints an ERROR: its code and message. Can't fail.
void cli_print_error (FILE *out, const ck_error_t *error);

//  Prints the msgpack body as one line of JSON; returns 0, or -1 when the
//  body is not valid msgpack (nothing printed).
int cli_print_json (FILE *out, const void *body, size_t size);

#endif
