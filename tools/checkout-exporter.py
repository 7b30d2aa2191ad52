#!/usr/bin/python3
#  checkout-exporter - the coordinators' stats as Prometheus metrics
#  SUB to each events socket's `stats`, served over HTTP at /metrics.
#
#  A coordinator publishes its totals once a second (docs/protocol.md#stats);
#  the exporter keeps the latest of each and turns them into metrics at
#  each scrape, labelled with the coordinator's name.  Counters and
#  histogram buckets are each coordinator's own totals since it started,
#  so Prometheus' rate() and sum() work across coordinators and across
#  restarts of the exporter and of any one coordinator.  With --supervisor,
#  restart counts come from the supervisor's control socket at each scrape.
#
#  Debian's python3 on purpose (/usr/bin/python3): it runs on Debian's
#  python3-prometheus-client, python3-zmq and python3-msgpack, which
#  scripts/setup installs.  docs/operations.md has the metric list.

import argparse
import http.server
import json
import os
import signal
import socket
import sys
import threading
import time

VERSION = "@PROJECT_VERSION@"           # CMake fills in the project's version
PROTOCOL = "@CK_PROTOCOL_VERSION@"      # and the protocol's, CK_VERSION
PROG = "checkout-exporter"
DEFAULT_EVENTS = "tcp://127.0.0.1:5572"
DEFAULT_LISTEN = "127.0.0.1:9464"
RCVHWM = 1000                           # stats only: a few per second at most
MAXMSGSIZE = 1 << 17                    # a stats body is at most 64 KiB (CK_MAX_BODY)
EVENTS_MAX = 16                         # coordinators watched at once
PARTITIONS_MAX = 1024                   # CK_MAX_PARTITIONS
POLL_MS = 200                           # how often the loop looks at the stop flag
SUPERVISOR_TIMEOUT = 1.0                # s for the supervisor's status answer

EXIT_DONE, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

EPILOG = """\
Exit codes: 0 stopped by SIGINT or SIGTERM, 1 runtime failure (the listen
address can't be bound, a Python package is missing), 2 bad usage.

Examples:
  checkout-exporter
      scrape http://127.0.0.1:9464/metrics for tcp://127.0.0.1:5572
  checkout-exporter --events tcp://10.0.0.5:5572 --listen 0.0.0.0:9464
      a remote coordinator, served on every interface
  checkout-exporter --events tcp://10.0.0.5:5572,tcp://10.0.0.6:5572
      two coordinators sharing a saga log, each one's metrics labelled
  checkout-exporter --supervisor data
      also the restart counts of the supervisor running in ./data
"""


def log(message):
    print("%s: %s" % (PROG, message), file=sys.stderr, flush=True)


def usage_error(message):
    print("%s: %s (see --help)" % (PROG, message), file=sys.stderr)
    sys.exit(EXIT_USAGE)


#  -------------------------------------------------------------------------
#  Flags

def parse_listen(text):
    """ADDR:PORT (IPv6 as [ADDR]:PORT) as (family, host, port); exits 2 when bad."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        usage_error("--listen %s: expected ADDR:PORT, PORT in 0..65535" % text)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        info = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM,
                                  flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as e:
        usage_error("--listen %s: %s" % (text, e))
    family, _, _, _, address = info[0]
    return family, address[0], int(port)


def parse_events(values):
    """The endpoints of every --events (EP or EP,EP), each once; exits 2 when bad."""
    endpoints = []
    for value in values:
        for endpoint in value.split(","):
            if not endpoint:
                usage_error("--events %s: an empty endpoint in the list" % value)
            if endpoint in endpoints:
                usage_error("--events %s: given twice" % endpoint)
            endpoints.append(endpoint)
    if len(endpoints) > EVENTS_MAX:
        usage_error("--events: %d endpoints, at most %d" % (len(endpoints), EVENTS_MAX))
    return endpoints


def positive_int(text):
    if not text.isdigit() or not 0 < int(text) <= 86400000:
        raise argparse.ArgumentTypeError("expected 1..86400000, got '%s'" % text)
    return int(text)


class Parser(argparse.ArgumentParser):
    def error(self, message):
        usage_error(message)


def completion_bash(parser):
    """A bash completion script from the parser's options, in the form the
    C programs print theirs (`--completion bash`)."""
    flags, files, texts = [], [], []
    for action in parser._actions:
        for flag in action.option_strings:
            if not flag.startswith("--"):
                continue
            flags.append(flag)
            if action.nargs == 0:
                continue
            metavar = action.metavar or ""
            (files if any(w in metavar for w in ("FILE", "DIR", "PATH")) else texts).append(flag)
    lines = ["# bash completion for %s, generated from its options:" % PROG,
             "# %s --completion bash" % PROG,
             "_checkout_exporter ()", "{",
             "    local cur=${COMP_WORDS[COMP_CWORD]}",
             "    local prev=${COMP_WORDS[COMP_CWORD-1]}",
             "    COMPREPLY=()",
             "    case $prev in"]
    if files:
        lines += ["        %s)" % "|".join(files),
                  '            COMPREPLY=($(compgen -f -- "$cur"))', "            return ;;"]
    if texts:
        lines += ["        %s)" % "|".join(texts), "            return ;;"]
    lines += ["    esac",
              "    if [[ $cur == -* ]]; then",
              '        COMPREPLY=($(compgen -W "%s" -- "$cur"))' % " ".join(flags),
              "    fi", "}", "complete -F _checkout_exporter %s" % PROG]
    return "\n".join(lines) + "\n"


def parse_args(argv):
    parser = Parser(prog=PROG, epilog=EPILOG,
                    formatter_class=argparse.RawDescriptionHelpFormatter,
                    description="Serve the checkout coordinators' stats as Prometheus "
                                "metrics at http://ADDR:PORT/metrics.")
    parser.add_argument("--version", action="version",
                        version="%s %s (protocol %s)" % (PROG, VERSION, PROTOCOL))
    parser.add_argument("--events", metavar="EP", action="append",
                        help="a coordinator's events endpoint, or a comma list of several; "
                             "repeatable (default %s)" % DEFAULT_EVENTS)
    parser.add_argument("--listen", metavar="ADDR:PORT", default=DEFAULT_LISTEN,
                        help="where to serve /metrics (default %s; port 0 picks a "
                             "free one, logged at start)" % DEFAULT_LISTEN)
    parser.add_argument("--supervisor", metavar="DIR",
                        help="the data directory of a running scripts/supervisor: "
                             "its restart counts are exported too")
    parser.add_argument("--curve-secret", metavar="FILE",
                        help="this process's secret certificate (checkout-keys, a key of "
                             "the monitor role); with --curve-server turns CURVE on")
    parser.add_argument("--curve-server", metavar="FILE",
                        help="the coordinator's public certificate")
    parser.add_argument("--stale-ms", metavar="MS", type=positive_int, default=5000,
                        help="stats older than this mean the coordinator is down "
                             "(default 5000; it publishes every second)")
    #  --completion SHELL, left out of --help as in the C programs: for packagers
    if argv[:1] == ["--completion"]:
        if argv[1:] != ["bash"]:
            usage_error("--completion: '%s' is not a shell it knows (bash)"
                        % " ".join(argv[1:]))
        sys.stdout.write(completion_bash(parser))
        sys.exit(0)
    args = parser.parse_args(argv)
    args.events = parse_events(args.events or [DEFAULT_EVENTS])
    args.listen_family, args.listen_host, args.listen_port = parse_listen(args.listen)
    if args.supervisor is not None and not os.path.isdir(args.supervisor):
        usage_error("--supervisor %s: not a directory" % args.supervisor)
    if (args.curve_secret is None) != (args.curve_server is None):
        usage_error("--curve-secret and --curve-server go together")
    return args


#  -------------------------------------------------------------------------
#  The stats event, checked: only what a metric reads, with its type

COUNTERS = ("uptime_ms", "started", "confirmed", "failed", "stuck", "bad_messages",
            "retries", "ignored_replies", "overloaded", "in_flight")
OPTIONAL = ("dropped", "refused", "ended", "ended_us", "partition_count")


def is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def is_text(value):
    return isinstance(value, str) and 0 < len(value) <= 64


def owned_partitions(text, count):
    """How many partitions ranges text ("0-20,42", "" for none) names
    within 0..count-1, or None when it is not such ranges."""
    owned = set()
    for part in text.split(",") if text else []:
        first, dash, last = part.partition("-")
        if not first.isdigit() or (dash and not last.isdigit()):
            return None
        first, last = int(first), int(last) if dash else int(first)
        if first > last or last >= count:
            return None
        owned.update(range(first, last + 1))
    return len(owned)


def check_stats(body):
    """The stats map, or a string saying what is wrong with it."""
    if not isinstance(body, dict):
        return "not a map"
    for key in COUNTERS:
        if not is_count(body.get(key)):
            return "%s: missing or not a count" % key
    for key in OPTIONAL:
        if key in body and not is_count(body[key]):
            return "%s: not a count" % key
    #  with several coordinators: who publishes, and which partitions it owns
    if "coordinator" in body and not is_text(body["coordinator"]):
        return "coordinator: not a name"
    count = body.get("partition_count", 0)
    if count > PARTITIONS_MAX:
        return "partition_count: more than %d" % PARTITIONS_MAX
    if count:
        ranges = body.get("partitions", "")
        owned = owned_partitions(ranges, count) if isinstance(ranges, str) else None
        if owned is None:
            return "partitions: not ranges of 0..%d" % (count - 1)
        body["owned_partitions"] = owned
    lists = {"workers": ("service", "instance", "capacity", "load"),
             "failed_reasons": ("code", "count"),
             "latency_buckets": ("le_us", "count")}
    for key, fields in lists.items():
        entries = body.get(key, [])
        if not isinstance(entries, list):
            return "%s: not an array" % key
        for entry in entries:
            if not isinstance(entry, dict):
                return "%s: an entry is not a map" % key
            for field in fields:
                check = is_text if field in ("service", "instance", "code") else is_count
                if not check(entry.get(field)):
                    return "%s.%s: missing or of the wrong type" % (key, field)
    #  Prometheus' buckets: distinct bounds, counts that never fall, none
    #  past the +Inf bucket (ended)
    buckets = sorted(body.get("latency_buckets", []), key=lambda b: b["le_us"])
    bounds = [b["le_us"] for b in buckets]
    counts = [b["count"] for b in buckets] + [body.get("ended", 0)]
    if len(set(bounds)) != len(bounds):
        return "latency_buckets: a bound listed twice"
    if any(a > b for a, b in zip(counts, counts[1:])):
        return "latency_buckets: counts not cumulative"
    body["latency_buckets"] = buckets
    return body


#  -------------------------------------------------------------------------
#  The subscriber: keeps the latest stats

def curve_keys(secret_path, server_path):
    """(public, secret, server) keys in Z85 from czmq certificate files."""
    import zmq.auth
    if os.stat(secret_path).st_mode & 0o077:
        usage_error("--curve-secret %s: a secret certificate must be readable by its "
                    "owner only (chmod 600)" % secret_path)
    try:
        public, secret = zmq.auth.load_certificate(secret_path)
        server, _ = zmq.auth.load_certificate(server_path)
    except (OSError, ValueError) as e:
        usage_error("CURVE: %s" % e)
    if not secret:
        usage_error("--curve-secret %s: no secret key" % secret_path)
    return public, secret, server


class Subscriber:
    """One coordinator's events socket, and the latest stats it gave."""

    def __init__(self, endpoint, curve=None):
        import zmq
        self.zmq = zmq
        self.endpoint = endpoint
        self.context = zmq.Context.instance()
        self.socket = self.context.socket(zmq.SUB)
        if curve:
            self.socket.curve_publickey, self.socket.curve_secretkey, \
                self.socket.curve_serverkey = curve
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.RCVHWM, RCVHWM)
        self.socket.setsockopt(zmq.MAXMSGSIZE, MAXMSGSIZE)
        self.socket.setsockopt(zmq.SUBSCRIBE, b"stats")
        try:
            self.socket.connect(endpoint)
        except zmq.ZMQError as e:
            self.socket.close()
            usage_error("--events %s: %s" % (endpoint, e))
        self.latest = None              # (stats, time.monotonic ()) once one came
        self.bad_events = 0
        self.last_warning = 0.0

    def receive(self):
        """Takes what has arrived; keeps the newest good stats."""
        while True:
            try:
                frames = self.socket.recv_multipart(self.zmq.NOBLOCK)
            except self.zmq.Again:
                return
            self.take(frames)

    def take(self, frames):
        import msgpack
        if len(frames) != 2 or frames[0] != b"stats":
            return self.bad("expected [stats, body], got %d frames" % len(frames))
        try:
            body = msgpack.unpackb(frames[1], raw=False, strict_map_key=False)
        except Exception as e:          # msgpack raises several kinds, TypeError too
            return self.bad("body is not msgpack: %s" % (str(e) or type(e).__name__))
        checked = check_stats(body)
        if isinstance(checked, str):
            return self.bad(checked)
        self.latest = (checked, time.monotonic())

    #  One warning per minute at most: a peer that sends garbage once a
    #  second must not fill the log
    def bad(self, what):
        self.bad_events += 1
        now = time.monotonic()
        if now - self.last_warning >= 60:
            self.last_warning = now
            log("warning: bad stats event ignored: %s (events=%s bad_events=%d)"
                % (what, self.endpoint, self.bad_events))

    def close(self):
        self.socket.close()


#  -------------------------------------------------------------------------
#  The supervisor's restart counts, asked at each scrape

def supervisor_status(data_dir):
    """The supervisor's status answer, or None when it does not answer."""
    path = os.path.join(os.path.abspath(data_dir), "run", "supervisor.sock")
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.settimeout(SUPERVISOR_TIMEOUT)
        conn.connect(path)
        conn.sendall(b'{"cmd": "status"}\n')
        reply = b""
        while not reply.endswith(b"\n") and len(reply) < 1 << 20:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            reply += chunk
        status = json.loads(reply)
        return status if isinstance(status, dict) and status.get("ok") else None
    except (OSError, ValueError):
        return None
    finally:
        conn.close()


#  -------------------------------------------------------------------------
#  Metrics

def le_text(us):
    """A bucket bound in seconds, as Prometheus writes it (0.00025, 1.0)."""
    return repr(us / 1e6)


class Collector:
    def __init__(self, subscribers, stale_s, supervisor_dir):
        self.subscribers, self.stale_s, self.supervisor_dir = subscribers, stale_s, supervisor_dir

    def names(self):
        """(subscriber, name, fresh stats or None) for each coordinator.  The
        name is the id its stats give, else its endpoint; an id another
        endpoint already gave (a misconfiguration) falls back to the
        endpoint, so that no two series are the same."""
        named, used = [], set()
        for subscriber in self.subscribers:
            latest = subscriber.latest
            fresh = latest is not None and time.monotonic() - latest[1] <= self.stale_s
            name = latest[0].get("coordinator") if latest else None
            if not name or name in used:
                name = subscriber.endpoint
            used.add(name)
            named.append((subscriber, name, latest[0] if fresh else None))
        return named

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
        named = self.names()
        up = GaugeMetricFamily("checkout_coordinator_up",
                               "1 while the coordinator's stats arrive, 0 when they stopped",
                               labels=["coordinator"])
        for _, name, stats in named:
            up.add_metric([name], 1 if stats else 0)
        yield up
        yield CounterMetricFamily("checkout_exporter_bad_events",
                                  "stats events the exporter could not read",
                                  value=sum(s.bad_events for s in self.subscribers))
        fresh = [(name, stats) for _, name, stats in named if stats]
        if fresh:
            yield from self.coordinators(fresh)
        if self.supervisor_dir is not None:
            yield from self.supervisor()

    #  Every series of a coordinator carries its name in the label
    #  `coordinator`: each is a counter of its own, which sum() adds up
    #  and rate() follows through one coordinator's restart
    def coordinators(self, fresh):
        from prometheus_client.core import (CounterMetricFamily, GaugeMetricFamily,
                                            HistogramMetricFamily)
        uptime = GaugeMetricFamily("checkout_coordinator_uptime_seconds",
                                   "seconds since the coordinator started", labels=["coordinator"])
        for name, stats in fresh:
            uptime.add_metric([name], stats["uptime_ms"] / 1000)
        yield uptime
        counters = (
            ("checkout_sagas_started", "sagas started", "started"),
            ("checkout_sagas_confirmed", "sagas confirmed", "confirmed"),
            ("checkout_sagas_stuck", "sagas reported stuck (compensation that does not end)",
             "stuck"),
            ("checkout_step_retries", "step requests sent again (attempt > 1)", "retries"),
            ("checkout_overloaded_answers", "checkouts answered overloaded", "overloaded"),
            ("checkout_bad_messages", "malformed or invalid messages received", "bad_messages"),
            ("checkout_ignored_replies", "late, duplicate or unknown replies ignored",
             "ignored_replies"),
            ("checkout_dropped_replies", "replies dropped because a client did not read them",
             "dropped"),
            ("checkout_refused_connections", "client connections refused past the limit",
             "refused"))
        for metric, help_text, key in counters:
            family = CounterMetricFamily(metric, help_text, labels=["coordinator"])
            for name, stats in fresh:
                family.add_metric([name], stats.get(key, 0))
            yield family

        failed = CounterMetricFamily("checkout_sagas_failed", "sagas failed, by reason code",
                                     labels=["coordinator", "reason"])
        in_flight = GaugeMetricFamily("checkout_sagas_in_flight", "sagas not yet ended",
                                      labels=["coordinator"])
        for name, stats in fresh:
            listed = 0
            for entry in stats.get("failed_reasons", []):
                failed.add_metric([name, entry["code"]], entry["count"])
                listed += entry["count"]
            if stats["failed"] > listed:    # a coordinator without failed_reasons
                failed.add_metric([name, "unknown"], stats["failed"] - listed)
            in_flight.add_metric([name], stats["in_flight"])
        yield failed
        yield in_flight

        duration = HistogramMetricFamily("checkout_saga_duration_seconds",
                                         "time from CHECKOUT accepted to confirmed or failed",
                                         labels=["coordinator"])
        for name, stats in fresh:
            if "latency_buckets" in stats:
                buckets = [(le_text(b["le_us"]), b["count"]) for b in stats["latency_buckets"]]
                buckets.append(("+Inf", stats.get("ended", 0)))
                duration.add_metric([name], buckets, sum_value=stats.get("ended_us", 0) / 1e6)
        if duration.samples:
            yield duration

        labels = ["coordinator", "service", "worker"]
        load = GaugeMetricFamily("checkout_worker_load",
                                 "requests in flight at a worker, from this coordinator",
                                 labels=labels)
        capacity = GaugeMetricFamily("checkout_worker_capacity",
                                     "requests a worker takes at once", labels=labels)
        for name, stats in fresh:
            for worker in stats.get("workers", []):
                worker_labels = [name, worker["service"], worker["instance"]]
                load.add_metric(worker_labels, worker["load"])
                capacity.add_metric(worker_labels, worker["capacity"])
        yield load
        yield capacity

        owned = GaugeMetricFamily("checkout_coordinator_partitions",
                                  "partitions of the shared saga log the coordinator owns",
                                  labels=["coordinator"])
        count = GaugeMetricFamily("checkout_saga_log_partitions",
                                  "partitions of the shared saga log, as the coordinator sees it",
                                  labels=["coordinator"])
        for name, stats in fresh:
            if stats.get("partition_count"):
                owned.add_metric([name], stats["owned_partitions"])
                count.add_metric([name], stats["partition_count"])
        if owned.samples:           # one SQLite coordinator has no partitions
            yield owned
            yield count

    def supervisor(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
        status = supervisor_status(self.supervisor_dir)
        yield GaugeMetricFamily("checkout_supervisor_up",
                                "1 when the supervisor answered its status", value=1 if status else 0)
        if not status:
            return
        restarts = CounterMetricFamily("checkout_supervisor_restarts",
                                       "restarts of a process since the supervisor started",
                                       labels=["service", "process"])
        for process in status.get("processes", []):
            if isinstance(process, dict) and is_count(process.get("restarts")):
                restarts.add_metric([str(process.get("service")), str(process.get("name"))],
                                    process["restarts"])
        yield restarts


#  -------------------------------------------------------------------------
#  HTTP

def make_server(args, registry):
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.split("?", 1)[0] != "/metrics":
                return self.answer(404, b"not found: the metrics are at /metrics\n",
                                   "text/plain; charset=utf-8")
            try:
                body = generate_latest(registry)
            except Exception as e:      # a scrape must never take the exporter down
                log("error: scrape failed: %s" % e)
                return self.answer(500, b"scrape failed\n", "text/plain; charset=utf-8")
            self.answer(200, body, CONTENT_TYPE_LATEST)

        def answer(self, code, body, content_type):
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *values):
            pass                        # one line per scrape is noise

    class Server(http.server.ThreadingHTTPServer):
        address_family = args.listen_family
        daemon_threads = True

    return Server((args.listen_host, args.listen_port), Handler)


#  -------------------------------------------------------------------------

def main(argv):
    args = parse_args(argv)
    try:
        import msgpack                  # noqa: F401 (checked before we start)
        import zmq
        from prometheus_client import CollectorRegistry
    except ImportError as e:
        log("error: %s: install python3-prometheus-client, python3-zmq and "
            "python3-msgpack (scripts/setup does)" % e)
        return EXIT_FAILURE
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    curve = curve_keys(args.curve_secret, args.curve_server) if args.curve_secret else None
    subscribers = []
    for endpoint in args.events:
        subscribers.append(Subscriber(endpoint, curve))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Collector(subscribers, args.stale_ms / 1000, args.supervisor))
    try:
        server = make_server(args, registry)
    except OSError as e:
        log("error: cannot listen on %s: %s" % (args.listen, e.strerror or e))
        for subscriber in subscribers:
            subscriber.close()
        return EXIT_FAILURE
    host, port = server.server_address[:2]
    shown = "[%s]" % host if ":" in host else host
    log("listening on http://%s:%d/metrics events=%s" % (shown, port, ",".join(args.events)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    poller = zmq.Poller()
    for subscriber in subscribers:
        poller.register(subscriber.socket, zmq.POLLIN)
    while not stop.is_set():
        ready = dict(poller.poll(POLL_MS))
        for subscriber in subscribers:
            if subscriber.socket in ready:
                subscriber.receive()
    server.shutdown()
    server.server_close()
    for subscriber in subscribers:
        subscriber.close()
    log("stopped")
    return EXIT_DONE


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
