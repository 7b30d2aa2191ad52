#   default.zpl - the process group of scripts/run: one coordinator and the
#   three participants, on the protocol's default tcp endpoints.
#
#   Read by scripts/supervisor (docs/operations.md lists every key).  Paths
#   are relative to this file, except data, which like --data is relative
#   to the current directory.  Each process gets --db DATA/<service>.db and
#   participants --instance <service>-<n> from the supervisor; the `flags`
#   of a service are passed to each of its processes as --name value.
#   A group over several hosts (coordinator `host`, service `hosts`, `db`):
#   see three-hosts.zpl.

data = data

endpoints
    frontend = tcp://127.0.0.1:5570
    backend = tcp://127.0.0.1:5571
    events = tcp://127.0.0.1:5572

supervisor
    restart_limit = 5               #   restarts within restart_window...
    restart_window = 30             #   ...seconds, then the process is left down
    backoff_ms = 100                #   first restart delay, doubled each time
    backoff_max_ms = 5000
    stop_timeout = 10               #   seconds from SIGTERM to SIGKILL
    ready_timeout = 30              #   seconds for the coordinator to say READY=1

coordinator
    flags
        sync = full

inventory
    instances = 1
    seed = "../seeds/w1-catalog.csv"
    flags
        capacity = 64

payment
    instances = 2                   #   a gateway is latency-bound: two share it
    flags
        capacity = 64
        latency-ms = 0

order
    instances = 1
    flags
        capacity = 64
