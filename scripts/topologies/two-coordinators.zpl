#   two-coordinators.zpl - two coordinators sharing one PostgreSQL saga log
#   on one machine, each owning part of its partitions; every participant
#   connects to both.
#
#       scripts/supervisor start scripts/topologies/two-coordinators.zpl --dry-run
#       scripts/supervisor start scripts/topologies/two-coordinators.zpl
#       checkout-monitor --events tcp://127.0.0.1:5572,tcp://127.0.0.1:5582
#
#   Each `coordinator` section is one coordinator, named by `instance`
#   (--instance); its `endpoints` replace the top level's, `advertise`
#   (--advertise) is the frontend clients are sent to for the partitions
#   it owns.  Several coordinators need a PostgreSQL saga log: the
#   supervisor refuses them on SQLite.  The URI below is an example: put
#   your server's own (docs/postgresql.md).

supervisor
    ready_timeout = 30

coordinator
    instance = c1
    db = postgresql://ck@127.0.0.1:5432/sagas
    advertise = tcp://127.0.0.1:5570
    endpoints
        frontend = tcp://127.0.0.1:5570
        backend = tcp://127.0.0.1:5571
        events = tcp://127.0.0.1:5572

coordinator
    instance = c2
    db = postgresql://ck@127.0.0.1:5432/sagas
    advertise = tcp://127.0.0.1:5580
    endpoints
        frontend = tcp://127.0.0.1:5580
        backend = tcp://127.0.0.1:5581
        events = tcp://127.0.0.1:5582

inventory
    instances = 1
    seed = "../seeds/w1-catalog.csv"

payment
    instances = 2

order
    instances = 1
