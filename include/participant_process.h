/*  participant_process.h - the process around a participant's runtime
    Flags, store, runtime and signals shared by every participant executable.

    A participant's main.c names its service, its own options and a setup
    function that builds its rules over the opened store; everything else
    (the common flags of the CLI contract, opening the SQLite file, starting
    the runtime, a graceful stop on SIGTERM or SIGINT, exit codes) is here.
*/
#ifndef CK_PARTICIPANT_PROCESS_H_INCLUDED
#define CK_PARTICIPANT_PROCESS_H_INCLUDED

#include "checkout/config.h"
#include "checkout/participant.h"
#include "participant_store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    ck_service_t service;               //  a built-in one, or NONE and:
    const char *service_name;           //  a service of the --steps table
    const char *name;                   //  "checkout-payment"
    const char *summary;                //  one line for --help
    const char *examples;               //  --help's Examples, or NULL
    const ck_option_t *options;         //  the service's own, ended by name NULL
    //  Builds the service's rules over the open store (its repository and
    //  ledger) and sets the runtime's handlers and state (and delay_ms if
    //  it has one); group commit and idle checkpoints over the store are
    //  already set.  Returns 0; 2 after reporting a bad configuration
    //  (ck_config_usage_error); -1 on any other failure.
    //  runtime->service is set (--steps is loaded) when setup runs.
    int (*setup) (ck_config_t *config, participant_store_t *store,
                  ck_participant_config_t *runtime);
    //  Destroys what setup built (runtime->state).  May be NULL.
    void (*teardown) (ck_participant_config_t *runtime);
} ck_participant_process_t;

//  Runs the participant process until SIGTERM or SIGINT and returns its
//  exit code: 0 after a clean stop, 1 when it could not start or run, 2 on
//  bad usage or configuration.
int ck_participant_process_main (const ck_participant_process_t *process, int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif
