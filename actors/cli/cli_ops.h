/*  cli_ops.h - the checkout CLI's operator commands
    list, describe, retry and cancel: requests, paging and how they print.
*/
#ifndef CLI_OPS_H_INCLUDED
#define CLI_OPS_H_INCLUDED

#include <stdio.h>
#include "checkout/client.h"
#include "checkout/config.h"

//  Fills *request from --status, --since, --limit and --cursor; returns
//  0, or -1 after a usage error.  *total is how many sagas to show in all
//  (--limit, which may span pages).
int cli_ops_list_request (ck_config_t *config, ck_list_t *request, uint32_t *total);

//  Who asks: --by, else the user name of this process; into by
//  (CK_BY_SIZE bytes).  Returns 0, or -1 after a usage error.
int cli_ops_by (ck_config_t *config, char *by);

//  Runs list: pages through the coordinator until total sagas or the
//  last page; prints a line per saga, or with json each page's body as
//  one line.  Returns the command of the last answer (SAGAS, ERROR,
//  NONE for no answer), the reply of which the client holds.
ck_command_t cli_ops_list (ck_client_t *client, const ck_list_t *request,
                           uint32_t total, bool json, int timeout_ms);

//  Prints a LIST page's sagas, one a line, ages from now_ms. Can't fail.
void cli_ops_print_sagas (FILE *out, const ck_sagas_t *sagas, uint64_t now_ms, bool header);

//  Prints a DESCRIPTION: cart, steps, current request, history. Can't fail.
void cli_ops_print_description (FILE *out, const ck_description_t *description);

#endif
