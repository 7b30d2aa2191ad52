/*  participant_process.c - the process around a participant's runtime
    Common flags, the store (SQLite or PostgreSQL), the runtime, a graceful stop.
*/
#include <sys/stat.h>
#include <czmq.h>
#include <inttypes.h>
#include <unistd.h>
#include "checkout/codec.h"
#include "checkout/curve.h"
#include "frame.h"
#include "log_level.h"
#include "open_files.h"
#include "participant_process.h"
#include "saga_def.h"
#include "sd_notify.h"

#define MAX_OPTIONS 32

//  Retention (docs/operations.md): the default outlives the coordinator's
//  (7 days) by a day, the margin for the longest saga; a shorter one than
//  a day is refused unless asked for (tests, demos): below that, a saga
//  still running could find its answers gone
#define RETENTION_DEFAULT "691200"
#define RETENTION_MIN_S   86400

//  The flags every participant takes (its --help lists them), besides
//  --config, --verbose and --help which config adds to every program
static const ck_option_t s_common_options [] = {
    { "coordinator", CK_OPT_LIST, "tcp://127.0.0.1:5571", 0, 0, "EP",
      "a coordinator backend to connect to; repeatable" },
    { "db", CK_OPT_STRING, NULL, 0, 0, "PATH|URI",
      "the SQLite file (default SERVICE.db), or a postgresql:// URI" },
    { "instance", CK_OPT_STRING, NULL, 0, 0, "ID", "this instance's id (default host-PID)" },
    { "capacity", CK_OPT_INT, "64", CK_MIN_CAPACITY, CK_MAX_CAPACITY, "N",
      "requests accepted at once, split among the coordinators" },
    { "heartbeat-ms", CK_OPT_INT, "1000", 10, 60000, "MS", "heartbeat interval" },
    CK_CURVE_CLIENT_OPTIONS,
    { "liveness", CK_OPT_INT, "3", 1, 100, "N", "heartbeats missed before a coordinator is dead" },
    { "max-batch", CK_OPT_INT, "64", 1, CK_PARTICIPANT_MAX_BATCH, "N",
      "requests handled in one transaction at most" },
    { "sync", CK_OPT_STRING, "full", 0, 0, "LEVEL",
      "SQLite synchronous: full, normal or off (off and normal for experiments only)" },
    CK_LOG_LEVEL_OPTION,
    { "retention", CK_OPT_INT, RETENTION_DEFAULT, 0, 315360000, "SECONDS",
      "keep a ledger entry this long, then delete it (0: for ever); must exceed the"
      " coordinator's --retention plus the longest saga" },
    { "allow-short-retention", CK_OPT_BOOL, NULL, 0, 0, NULL,
      "accept a --retention under a day (tests and demos only)" },
    SAGA_DEF_STEPS_OPTION,
    { .name = NULL }
};

//  The command line, read again on SIGHUP (one process, one command line)
static struct {
    const ck_program_t *program;
    int argc;
    char **argv;
} s_command;

//  Appends the options of list (ended by name NULL) to all; false if full
static bool
s_add_options (ck_option_t *all, size_t *count, const ck_option_t *list)
{
    for (; list && list->name; list++) {
        if (*count + 1 >= MAX_OPTIONS)
            return false;
        all [(*count)++] = *list;
    }
    all [*count].name = NULL;
    return true;
}


//  Checks what config can't: endpoints, instance, sync level.  Fills the
//  runtime's transport settings; 0, or 2 after reporting
static int
s_configure (ck_config_t *config, ck_participant_config_t *runtime, const char **endpoints,
             char *instance, size_t instance_size, store_options_t *store_options)
{
    size_t count = ck_config_list_size (config, "coordinator");
    if (count == 0 || count > CK_PARTICIPANT_MAX_ENDPOINTS) {
        ck_config_usage_error (config, "--coordinator: give 1..%d endpoints",
                               CK_PARTICIPANT_MAX_ENDPOINTS);
        return 2;
    }
    for (size_t i = 0; i < count; i++) {
        endpoints [i] = ck_config_list_at (config, "coordinator", i);
        if (!ck_endpoint_valid (endpoints [i])) {
            ck_config_usage_error (config, "--coordinator: '%s' is not a tcp://, ipc:// "
                                   "or inproc:// endpoint", endpoints [i]);
            return 2;
        }
    }
    if (!ck_config_instance (config, instance, instance_size)) {
        ck_config_usage_error (config, "--instance: must be 1..64 characters of "
                               "A-Z a-z 0-9 . _ : -");
        return 2;
    }
    if (store_sync_parse (ck_config_str (config, "sync"), &store_options->sync)) {
        ck_config_usage_error (config, "--sync: '%s' is not full, normal or off",
                               ck_config_str (config, "sync"));
        return 2;
    }
    long retention = ck_config_int (config, "retention");
    if (retention > 0 && retention < RETENTION_MIN_S
    &&  !ck_config_bool (config, "allow-short-retention")) {
        ck_config_usage_error (config, "--retention: %ld s is under a day (%d s): a saga"
                               " still running could find its answers gone; give more, 0"
                               " (for ever), or --allow-short-retention", retention,
                               RETENTION_MIN_S);
        return 2;
    }
    //  READY's capacity is 1..1024: each coordinator needs a share of one
    if ((size_t) ck_config_int (config, "capacity") < count) {
        ck_config_usage_error (config, "--capacity: %ld is less than one per coordinator"
                               " (%zu given); the capacity is split among them",
                               ck_config_int (config, "capacity"), count);
        return 2;
    }
    if (ck_curve_client_flags (config, &runtime->curve))
        return 2;
    runtime->instance = instance;
    runtime->capacity = (uint32_t) ck_config_int (config, "capacity");
    runtime->endpoints = endpoints;
    runtime->endpoint_count = count;
    runtime->heartbeat_ivl_ms = (uint32_t) ck_config_int (config, "heartbeat-ms");
    runtime->liveness = (uint32_t) ck_config_int (config, "liveness");
    runtime->max_batch = (uint32_t) ck_config_int (config, "max-batch");
    runtime->verbose = ck_config_bool (config, "verbose");
    return 0;
}

//  Loads --steps and finds the process's service in the step table; 0,
//  or 2 after reporting
static int
s_service (ck_config_t *config, const ck_participant_process_t *process,
           ck_participant_config_t *runtime)
{
    if (saga_def_load_flag (config))
        return 2;
    runtime->service = process->service;
    if (!runtime->service && process->service_name)
        runtime->service = ck_service_lookup (process->service_name,
                                              strlen (process->service_name));
    if (!runtime->service) {
        ck_config_usage_error (config, "--steps: the step table has no service '%s'",
                               process->service_name? process->service_name: "");
        return 2;
    }
    return 0;
}

//  Opens the store, builds the service, runs the runtime until a signal
static int
s_run (ck_config_t *config, const ck_participant_process_t *process)
{
    const char *endpoints [CK_PARTICIPANT_MAX_ENDPOINTS];
    char instance [CK_ID_SIZE + 32];
    store_options_t store_options = { 0 };
    ck_participant_config_t runtime = { 0 };
    int rc = s_service (config, process, &runtime);
    if (rc == 0)
        rc = s_configure (config, &runtime, endpoints, instance,
                          sizeof instance, &store_options);
    if (rc)
        return rc;

    char default_db [64];
    snprintf (default_db, sizeof default_db, "%s.db", ck_service_name (runtime.service));
    const char *db = ck_config_str (config, "db")? ck_config_str (config, "db"): default_db;
    if (!pg_uri_is (db) && !store_path_durable (db)) {
        ck_config_usage_error (config, "--db: '%s' is not a file: effects must outlive the "
                               "process (a REPLY means durable)", db);
        return 2;
    }
    char error [256];
    if (pg_uri_is (db) && !pg_uri_valid (db, error, sizeof error)) {
        ck_config_usage_error (config, "--db: not a valid PostgreSQL URI: %s", error);
        return 2;
    }
    participant_store_t *store = participant_store_new (db, &store_options);
    if (!store) {
        //  a URI may hold a password: the log has it without
        fprintf (stderr, "%s: --db %s: cannot open the database (see the log)\n",
                 process->name, pg_uri_is (db)? "URI": db);
        return 1;
    }
    //  every participant's transactions are its store's: group commit and
    //  idle checkpoints are the same for all
    participant_store_hooks (store, &runtime);
    participant_store_set_retention (store, (uint64_t) ck_config_int (config, "retention") * 1000);
    rc = process->setup (config, store, &runtime);
    ck_participant_t *participant = rc == 0? ck_participant_new (&runtime): NULL;
    //  a signal while the runtime was starting is a stop, not a failure
    if (rc == 0 && !participant)
        rc = zsys_interrupted? 0: 1;
    if (participant) {
        zsys_info ("%s: service=%s instance=%s db=%s capacity=%u started",
                   process->name, ck_service_name (runtime.service), instance,
                   participant_store_name (store), runtime.capacity);
        //  Ready once connected, READY sent on every link: the coordinator
        //  does not answer READY, and a participant may rightly start
        //  before it (another host), reaching it whenever it comes up
        ck_sd_notify ("READY=1\nSTATUS=connected");
        while (!zsys_interrupted) {
            zclock_sleep (100);
            if (ck_log_hangup ())
                ck_log_reload (s_command.program, s_command.argc, s_command.argv);
        }
        ck_sd_notify ("STOPPING=1\nSTATUS=draining: answering what it holds");
        ck_participant_stats_t stats;
        if (ck_participant_stats (participant, &stats) == 0)
            zsys_info ("%s: instance=%s requests=%" PRIu64 " replies=%" PRIu64
                       " over_capacity=%" PRIu64 " expired=%" PRIu64 " bad_messages=%" PRIu64,
                       process->name, instance, stats.requests, stats.replies,
                       stats.over_capacity, stats.expired, stats.bad_messages);
        zsys_info ("%s: instance=%s stopping ledger_expired=%" PRIu64, process->name,
                   instance, participant_store_expired (store));
        ck_participant_destroy (&participant);
    }
    if (process->teardown)
        process->teardown (&runtime);
    participant_store_destroy (&store);
    return rc < 0? 1: rc;
}

int
ck_participant_process_main (const ck_participant_process_t *process, int argc, char **argv)
{
    ck_option_t options [MAX_OPTIONS];
    size_t count = 0;
    bool fits = s_add_options (options, &count, s_common_options)
             && s_add_options (options, &count, process->options);
    assert (fits);                  //  our own tables
    ck_program_t program = {
        .name = process->name, .summary = process->summary, .options = options,
        .examples = process->examples
    };
    //  Stores, WAL files and anything else this process creates hold customer
    //  data: for its own user only, whoever started it
    umask (077);
    int exit_code = 0;
    ck_config_t *config = ck_config_new (&program, argc, argv, &exit_code);
    if (!config)
        return exit_code;
    ck_log_level_t level;
    if (ck_log_level_of (config, &level)) {
        ck_config_destroy (&config);
        return 2;
    }
    s_command.program = &program;
    s_command.argc = argc;
    s_command.argv = argv;
    zsys_init ();
    zsys_set_logident (process->name);
    ck_log_start (level);
    ck_open_files_raise (process->name);     //  a connection per coordinator, each a descriptor
    int rc = s_run (config, process);
    ck_config_destroy (&config);
    return rc;
}
