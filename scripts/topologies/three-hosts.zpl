#   three-hosts.zpl - one process group over three hosts: the coordinator
#   and PostgreSQL on host a, one instance of every participant on b and c.
#
#   Each host runs its own supervisor on the same file, with its own data:
#       host a:  scripts/supervisor start three-hosts.zpl --host a --data DIR
#       host b:  scripts/supervisor start three-hosts.zpl --host b --data DIR
#       host c:  scripts/supervisor start three-hosts.zpl --host c --data DIR
#   `host` places the coordinator; `hosts` runs `instances` instances of a
#   service on EACH host listed, named <service>-<host>-<n>.  A service
#   without `hosts` runs on the coordinator's host.  `db` replaces
#   DATA/<service>.db: a postgresql:// URI (a participant's is shared by
#   every host), or an absolute file path.  Participants connect to the
#   backend address, so it must be one the other hosts can reach (not *).
#   The addresses below are examples: put your hosts' own.

endpoints
    frontend = tcp://10.0.0.1:5570
    backend = tcp://10.0.0.1:5571
    events = tcp://10.0.0.1:5572

supervisor
    restart_limit = 5
    restart_window = 30
    backoff_ms = 100
    backoff_max_ms = 5000
    stop_timeout = 10
    ready_timeout = 30

coordinator
    host = a                        #   its log stays DATA/coordinator.db on a
    flags
        sync = full

inventory
    hosts = "b c"
    instances = 1                   #   per host: inventory-b-1, inventory-c-1
    db = postgresql://ck@10.0.0.1:5432/inventory
    seed = "../seeds/w1-catalog.csv"
    flags
        capacity = 64

payment
    hosts = "b c"
    instances = 1
    db = postgresql://ck@10.0.0.1:5432/payment
    flags
        capacity = 64

order
    hosts = "b c"
    instances = 1
    db = "postgresql://ck@10.0.0.1:5432/order"
    flags
        capacity = 64
