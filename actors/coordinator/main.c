/*  main.c - checkout-coordinator, the process that runs checkout sagas
    Reads its configuration, starts the coordinator actor, stops on a signal.
*/
#include <sys/stat.h>
#include "checkout/config.h"
#include "checkout/curve.h"
#include "frame.h"
#include "log_level.h"
#include "open_files.h"
#include "coordinator.h"
#include "pg.h"
#include "saga_def.h"
#include "sd_notify.h"

static const ck_option_t s_options [] = {
    { "frontend", CK_OPT_STRING, "tcp://127.0.0.1:5570", 0, 0, "EP", "the clients' endpoint (bind)" },
    { "backend", CK_OPT_STRING, "tcp://127.0.0.1:5571", 0, 0, "EP", "the participants' endpoint (bind)" },
    { "events", CK_OPT_STRING, "tcp://127.0.0.1:5572", 0, 0, "EP", "the events endpoint (bind)" },
    { "db", CK_OPT_STRING, "coordinator.db", 0, 0, "PATH|URI",
      "the saga log: a SQLite file, or a postgresql:// URI" },
    { "sync", CK_OPT_STRING, "full", 0, 0, "LEVEL",
      "SQLite synchronous: full, normal or off (off and normal for experiments only)" },
    { "step-timeout-ms", CK_OPT_INT, "5000", 1, 3600000, "MS", "wait for a REPLY" },
    { "max-attempts", CK_OPT_INT, "3", 1, 1000, "N", "failed attempts of a step" },
    { "max-resends", CK_OPT_INT, "10", 0, 1000, "N",
      "re-sends after lost instances before one counts as a failed attempt" },
    { "comp-max-attempts", CK_OPT_INT, "10", 1, 1000000, "N",
      "failed attempts of a compensation before the saga is stuck" },
    { "backoff-ms", CK_OPT_INT, "100", 1, 600000, "MS", "first retry delay" },
    { "backoff-max-ms", CK_OPT_INT, "5000", 1, 3600000, "MS", "retry delay cap" },
    { "max-inflight", CK_OPT_INT, "10000", 1, 1000000, "N", "sagas running at once (admission)" },
    { "heartbeat-ms", CK_OPT_INT, "1000", 10, 60000, "MS", "heartbeat interval" },
    { "liveness", CK_OPT_INT, "3", 1, 100, "N", "heartbeats missed before a participant is dead" },
    CK_LOG_LEVEL_OPTION,
    { "retention", CK_OPT_INT, "604800", 0, 315360000, "SECONDS",
      "keep an ended saga this long, then delete it (0: for ever); participants must keep"
      " theirs longer (docs/operations.md)" },
    SAGA_DEF_STEPS_OPTION,
    { "curve-secret", CK_OPT_STRING, NULL, 0, 0, "FILE",
      "the coordinator's secret certificate (checkout-keys): CURVE on every socket" },
    { "curve-allow", CK_OPT_STRING, NULL, 0, 0, "DIR",
      "the allow-lists, one directory of public certificates per role" },
    { "insecure", CK_OPT_BOOL, NULL, 0, 0, NULL,
      "run without CURVE, saying so (the default when no key is given)" },
    { "instance", CK_OPT_STRING, NULL, 0, 0, "ID", "this coordinator's id (default host-PID)" },
    { "partitions", CK_OPT_INT, "64", 1, CK_MAX_PARTITIONS, "N",
      "partitions of a PostgreSQL log, the same for every coordinator of it" },
    { "advertise", CK_OPT_STRING, NULL, 0, 0, "EP",
      "the frontend as clients reach it (default --frontend)" },
    { .name = NULL }
};

//  CURVE: both key options, or --insecure, or neither (insecure too)
static int
s_curve (ck_config_t *flags, coordinator_config_t *config)
{
    const char *secret = ck_config_str (flags, "curve-secret");
    const char *allow = ck_config_str (flags, "curve-allow");
    if (ck_config_bool (flags, "insecure") && (secret || allow)) {
        ck_config_usage_error (flags, "--insecure and --curve-secret/--curve-allow exclude"
                               " each other");
        return 2;
    }
    if (!secret && !allow)
        return 0;
    if (!secret || !allow) {
        ck_config_usage_error (flags, "--curve-secret and --curve-allow go together");
        return 2;
    }
    char error [512];
    if (ck_curve_keys_load (&config->curve, secret, NULL, error, sizeof error)) {
        ck_config_usage_error (flags, "CURVE: %s", error);
        return 2;
    }
    struct stat info;
    if (stat (allow, &info) || !S_ISDIR (info.st_mode)) {
        ck_config_usage_error (flags, "--curve-allow: '%s' is not a directory", allow);
        return 2;
    }
    config->curve_allow = allow;
    return 0;
}

//  True when endpoint is reachable from other hosts: not ipc, inproc or
//  a loopback address
static bool
s_exposed (const char *endpoint)
{
    if (strncmp (endpoint, "tcp://", 6) != 0)
        return false;
    const char *host = endpoint + 6;
    return strncmp (host, "127.", 4) != 0 && strncmp (host, "localhost:", 10) != 0
        && strncmp (host, "[::1]:", 6) != 0 && strncmp (host, "lo:", 3) != 0;
}

//  True when endpoint binds every interface (tcp://*:5570, 0.0.0.0, [::]):
//  no client can be sent there
static bool
s_wildcard (const char *endpoint)
{
    return strncmp (endpoint, "tcp://*:", 8) == 0 || strncmp (endpoint, "tcp://0.0.0.0:", 14) == 0
        || strncmp (endpoint, "tcp://[::]:", 11) == 0;
}

//  Several coordinators on PostgreSQL: who this one is and where clients
//  reach it; 0, or 2 after reporting
static int
s_members (ck_config_t *flags, coordinator_config_t *config)
{
    static char instance [CK_ID_SIZE];
    if (!ck_config_instance (flags, instance, sizeof instance)) {
        ck_config_usage_error (flags, "--instance: '%s' is not an id (1-64 of A-Z a-z 0-9"
                               " . _ : -)", ck_config_str (flags, "instance"));
        return 2;
    }
    const char *advertise = ck_config_str (flags, "advertise");
    if (advertise && (!ck_endpoint_valid (advertise) || s_wildcard (advertise)
                      || strlen (advertise) > CK_TEXT_MAX)) {
        ck_config_usage_error (flags, "--advertise: '%s' is not a tcp:// or ipc:// endpoint"
                               " that clients can connect to", advertise);
        return 2;
    }
    if (!advertise && pg_uri_is (config->db) && s_wildcard (config->frontend)) {
        ck_config_usage_error (flags, "--frontend %s binds every interface: give --advertise,"
                               " the endpoint other coordinators send clients to",
                               config->frontend);
        return 2;
    }
    config->instance = instance;
    config->advertise = advertise? advertise: config->frontend;
    config->partitions = (uint32_t) ck_config_int (flags, "partitions");
    return 0;
}

//  Fills config from the parsed flags; 0, or 2 after reporting
static int
s_configure (ck_config_t *flags, coordinator_config_t *config, ck_log_level_t *level)
{
    if (ck_log_level_of (flags, level))
        return 2;
    const char *names [] = { "frontend", "backend", "events" };
    for (int i = 0; i < 3; i++)
        if (!ck_endpoint_valid (ck_config_str (flags, names [i]))) {
            ck_config_usage_error (flags, "--%s: '%s' is not a tcp://, ipc:// or inproc:// endpoint",
                                   names [i], ck_config_str (flags, names [i]));
            return 2;
        }
    if (store_sync_parse (ck_config_str (flags, "sync"), &config->sync)) {
        ck_config_usage_error (flags, "--sync: '%s' is not full, normal or off",
                               ck_config_str (flags, "sync"));
        return 2;
    }
    const char *db = ck_config_str (flags, "db");
    char error [256];
    if (pg_uri_is (db) && !pg_uri_valid (db, error, sizeof error)) {
        ck_config_usage_error (flags, "--db: not a valid PostgreSQL URI: %s", error);
        return 2;
    }
    if (!pg_uri_is (db) && !store_path_durable (db)) {
        ck_config_usage_error (flags, "--db: '%s' is not a file: the saga log must outlive "
                               "the process (ACCEPTED means durable)", db);
        return 2;
    }
    if (saga_def_load_flag (flags))
        return 2;
    if (s_curve (flags, config))
        return 2;
    config->frontend = ck_config_str (flags, "frontend");
    config->backend = ck_config_str (flags, "backend");
    config->events = ck_config_str (flags, "events");
    config->db = ck_config_str (flags, "db");
    saga_policy_defaults (&config->policy);
    config->policy.step_timeout_ms = (uint32_t) ck_config_int (flags, "step-timeout-ms");
    config->policy.max_attempts = (uint32_t) ck_config_int (flags, "max-attempts");
    config->policy.comp_max_attempts = (uint32_t) ck_config_int (flags, "comp-max-attempts");
    config->policy.max_resends = (uint32_t) ck_config_int (flags, "max-resends");
    config->policy.backoff_base_ms = (uint32_t) ck_config_int (flags, "backoff-ms");
    config->policy.backoff_max_ms = (uint32_t) ck_config_int (flags, "backoff-max-ms");
    config->max_inflight = (uint32_t) ck_config_int (flags, "max-inflight");
    config->heartbeat_ivl_ms = (uint32_t) ck_config_int (flags, "heartbeat-ms");
    config->liveness = (uint32_t) ck_config_int (flags, "liveness");
    config->retention_ms = (uint64_t) ck_config_int (flags, "retention") * 1000;
    config->verbose = ck_config_bool (flags, "verbose");
    return s_members (flags, config);
}

int
main (int argc, char *argv [])
{
    ck_program_t program = {
        .name = "checkout-coordinator",
        .summary = "the coordinator: runs a checkout saga for every CHECKOUT",
        .options = s_options,
        .examples =
            "  checkout-coordinator --db data/coordinator.db\n"
            "  checkout-coordinator --db postgresql://ck@db.example/coordinator"
            " --backend tcp://10.0.0.1:5571\n"
            "  (scripts/run or scripts/supervisor start the whole group)\n"
    };
    //  Stores, WAL files and anything else this process creates hold customer
    //  data: for its own user only, whoever started it
    umask (077);
    int exit_code = 0;
    ck_config_t *flags = ck_config_new (&program, argc, argv, &exit_code);
    if (!flags)
        return exit_code;
    coordinator_config_t config = { 0 };
    ck_log_level_t level;
    exit_code = s_configure (flags, &config, &level);
    if (exit_code == 0) {
        zsys_init ();
        zsys_set_logident ("checkout-coordinator");
        ck_log_start (level);
        //  MAX_CLIENTS client connections, the participants and the saga
        //  log must all fit
        ck_open_files_raise ("coordinator");
        if (!ck_curve_on (&config.curve)) {
            const char *endpoints [] = { config.frontend, config.backend, config.events };
            for (int i = 0; i < 3; i++)
                if (s_exposed (endpoints [i]))
                    zsys_warning ("coordinator: CURVE is off and %s is reachable from other"
                                  " hosts: anyone who reaches it can act as a client,"
                                  " participant or monitor (docs/operations.md, Keys)",
                                  endpoints [i]);
        }
        bool refused = false;
        coordinator_t *coordinator = coordinator_start (&config, &refused);
        if (!coordinator && refused) {
            fprintf (stderr, "checkout-coordinator: the saga log is refused (see the log)\n");
            exit_code = 2;
        }
        else
        if (!coordinator) {
            fprintf (stderr, "checkout-coordinator: could not start (see the log)\n");
            exit_code = 1;
        }
        else {
            //  bound and recovered: a client's PING is answered from now on
            ck_sd_notify ("READY=1\nSTATUS=serving");
            while (!zsys_interrupted) {
                if (coordinator_failed (coordinator, 200)) {
                    exit_code = 1;
                    break;
                }
                if (ck_log_hangup ())
                    ck_log_reload (&program, argc, argv);
            }
            if (zsys_interrupted)
                ck_sd_notify ("STOPPING=1\nSTATUS=finishing the turn, closing the log");
            coordinator_destroy (&coordinator);
        }
    }
    ck_config_destroy (&flags);
    return exit_code;
}
