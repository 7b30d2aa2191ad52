"""The Python client (clients/python) against a real group, and against
replies no coordinator sends.

Run by CTest (python_client) as: python3 tests/python/test_client.py, with
CK_BIN_DIR (the executables) and CK_SOURCE_DIR (the W1 catalog, the
package) in the environment.  The group is a coordinator and one instance of
each participant on ipc:// endpoints in a fresh temp dir; every process is
killed by its PID at the end (and dies with this one if it is killed first).
Set CK_E2E_KEEP=1 to keep the dir and its logs.  A second group runs under
CURVE with the keys checkout-keys makes.  Several coordinators (not_owner)
are stand-in ROUTERs in threads of this process.
"""

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

SOURCE = os.environ.get("CK_SOURCE_DIR") or \
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SOURCE, "clients", "python"))

import msgpack                                                  # noqa: E402
import zmq                                                      # noqa: E402

from checkout_client import (CheckoutTimeout, Client, CoordinatorError,  # noqa: E402
                             MalformedReply)
from checkout_client import curve, protocol                     # noqa: E402

BIN = os.environ.get("CK_BIN_DIR") or os.path.join(SOURCE, "build", "bin")
HEARTBEAT_MS = 200
READY_WITHIN = 20.0             # s for the group to serve (ASan builds are slow)
TIMEOUT = 10.0                  # s for one answer
PR_SET_PDEATHSIG = 1

CART = dict(cart_id="cart-py-1", customer_id="cust-py", currency="EUR",
            items=[("SKU-0001", 2, 150), ("SKU-0002", 1, 300)], country="DE")


def _die_with_parent():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Group:
    """A coordinator and one inventory, payment and order, as processes;
    with curve, under CURVE with the keys of checkout-keys init in
    <dir>/keys, each process with its own key as the supervisor runs them."""

    def __init__(self, curve=False):
        self.dir = tempfile.mkdtemp(prefix="ck-python-")
        self.frontend = "ipc://%s/fe" % self.dir
        self.backend = "ipc://%s/be" % self.dir
        self.events = "ipc://%s/ev" % self.dir
        self.keys = os.path.join(self.dir, "keys") if curve else None
        self.procs = []

    def key(self, file):
        return os.path.join(self.keys, file)

    def client_keys(self, name):
        """Client arguments for name's key pair and the coordinator's key."""
        return dict(curve_secret=self.key(name + ".key_secret"),
                    curve_server=self.key("coordinator.key"))

    def keygen(self, *args):
        """Runs checkout-keys with args, its output in <dir>/keys.log."""
        with open(os.path.join(self.dir, "keys.log"), "ab") as log:
            subprocess.run([os.path.join(BIN, "checkout-keys")] + list(args), check=True,
                           stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

    def spawn(self, name, program, *args):
        log = open(os.path.join(self.dir, name + ".log"), "wb")
        with log:
            proc = subprocess.Popen([os.path.join(BIN, program)] + list(args),
                                    stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        self.procs.append(proc)

    def start(self):
        beat = ["--heartbeat-ms", str(HEARTBEAT_MS), "--liveness", "5"]
        secure = []
        if self.keys:
            self.keygen("init", self.keys)
            secure = ["--curve-secret", self.key("coordinator.key_secret"),
                      "--curve-allow", self.key("allow")]
        self.spawn("coordinator", "checkout-coordinator", "--frontend", self.frontend,
                   "--backend", self.backend, "--events", self.events,
                   "--db", os.path.join(self.dir, "coordinator.db"), *beat, *secure)
        seed = os.path.join(SOURCE, "scripts", "seeds", "w1-catalog.csv")
        for service in ("inventory", "payment", "order"):
            extra = ["--seed", seed] if service == "inventory" else []
            if self.keys:
                extra += ["--curve-secret", self.key(service + ".key_secret"),
                          "--curve-server", self.key("coordinator.key")]
            self.spawn(service, "checkout-" + service, "--coordinator", self.backend,
                       "--db", os.path.join(self.dir, service + ".db"),
                       "--instance", service + "-1", *beat, *extra)
        self.wait_ready()

    def wait_ready(self):
        """Until a stats event shows one live instance of each service."""
        sub = zmq.Context.instance().socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.SUBSCRIBE, b"stats")
        if self.keys:
            keys = self.client_keys("monitor")
            curve.apply(curve.load(keys["curve_secret"], keys["curve_server"]), sub)
        sub.connect(self.events)
        deadline = time.monotonic() + READY_WITHIN
        try:
            while time.monotonic() < deadline:
                for proc in self.procs:
                    if proc.poll() is not None:
                        raise RuntimeError("%s exited with %s (logs in %s)"
                                           % (proc.args[0], proc.returncode, self.dir))
                if not sub.poll(250):
                    continue
                frames = sub.recv_multipart()
                stats = msgpack.unpackb(frames[1], raw=False)
                services = sorted(w["service"] for w in stats.get("workers", []))
                if services == ["inventory", "order", "payment"]:
                    return
            raise RuntimeError("the group did not serve within %.0f s (logs in %s)"
                               % (READY_WITHIN, self.dir))
        finally:
            sub.close()

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        self.procs = []
        if os.environ.get("CK_E2E_KEEP", "0") not in ("", "0"):
            print("e2e: kept %s" % self.dir, file=sys.stderr)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


class Coordinator(unittest.TestCase):
    """The client's calls against a real group."""

    @classmethod
    def setUpClass(cls):
        cls.group = Group()
        cls.addClassCleanup(cls.group.stop)
        cls.group.start()
        cls.client = Client(cls.group.frontend, timeout=TIMEOUT)
        cls.addClassCleanup(cls.client.close)
        #  one confirmed and one declined checkout, which the tests read
        accepted = []
        cls.confirmed = cls.client.submit("chk-py-ok", payment_method="pm_card_visa",
                                          ack=True, on_accepted=accepted.append, **CART)
        cls.accepted = accepted
        cls.declined = cls.client.submit("chk-py-declined",
                                         payment_method="pm_card_declined", **CART)

    def test_confirmed_result(self):
        result = self.confirmed
        self.assertEqual(result.status, "confirmed")
        self.assertEqual(result.checkout_id, "chk-py-ok")
        self.assertTrue(result.saga_id)
        self.assertTrue(result.order_id)
        self.assertIsNone(result.reason)
        self.assertIsNone(result.failed_step)
        self.assertGreater(result.elapsed_us, 0)
        #  ACCEPTED came first, about the same saga
        self.assertEqual(len(self.accepted), 1)
        self.assertEqual(self.accepted[0].saga_id, result.saga_id)

    def test_declined_result(self):
        result = self.declined
        self.assertEqual(result.status, "failed")
        self.assertEqual(result.failed_step, "payment")
        self.assertEqual(result.reason.code, "card_declined")
        self.assertEqual(result.compensated, ["inventory"])
        self.assertIsNone(result.order_id)

    def test_submit_again_is_the_same_saga(self):
        again = self.client.submit("chk-py-ok", payment_method="pm_card_visa", **CART)
        self.assertEqual(again.saga_id, self.confirmed.saga_id)
        self.assertEqual(again.order_id, self.confirmed.order_id)

    def test_status(self):
        status = self.client.status("chk-py-declined")
        self.assertEqual(status.status, "failed")
        self.assertEqual(status.saga_id, self.declined.saga_id)
        events = [entry.event for entry in status.history]
        self.assertEqual(events[0], "started")
        self.assertGreater(len(events), 2)
        with self.assertRaises(CoordinatorError) as caught:
            self.client.status("chk-py-never")
        self.assertEqual(caught.exception.code, "unknown_checkout")
        self.assertEqual(caught.exception.checkout_id, "chk-py-never")

    def test_ping(self):
        pong = self.client.ping()
        self.assertEqual(pong.version, protocol.VERSION)
        self.assertGreater(pong.uptime_ms, 0)
        self.assertFalse(pong.unserved)

    def test_list(self):
        sagas = {saga.checkout_id: saga for saga in self.client.list(limit=100)}
        self.assertEqual(sagas["chk-py-ok"].status, "confirmed")
        self.assertEqual(sagas["chk-py-ok"].saga_id, self.confirmed.saga_id)
        self.assertEqual(sagas["chk-py-declined"].status, "failed")
        #  one a page: newest first, the cursor leads to the other
        first = self.client.list_page(limit=1)
        self.assertEqual([s.checkout_id for s in first.sagas], ["chk-py-declined"])
        self.assertTrue(first.next)
        second = self.client.list_page(limit=1, cursor=first.next)
        self.assertEqual([s.checkout_id for s in second.sagas], ["chk-py-ok"])
        failed = [saga.checkout_id for saga in self.client.list(status="failed")]
        self.assertEqual(failed, ["chk-py-declined"])

    def test_describe(self):
        saga = self.client.describe("chk-py-declined")
        self.assertEqual(saga.saga_id, self.declined.saga_id)
        self.assertEqual(saga.status, "failed")
        self.assertEqual(saga.phase, "failed")
        self.assertEqual((saga.cart_id, saga.customer_id, saga.currency),
                         ("cart-py-1", "cust-py", "EUR"))
        self.assertEqual(saga.amount, 600)
        self.assertEqual(saga.ship_to.country, "DE")
        steps = {step.step: step for step in saga.steps}
        self.assertEqual(list(steps), ["inventory", "payment", "order"])
        self.assertEqual(steps["inventory"].state, "compensated")
        self.assertEqual(steps["payment"].state, "failed")
        self.assertEqual(steps["order"].state, "pending")
        self.assertEqual(steps["inventory"].kind, "compensatable")
        self.assertEqual(steps["order"].kind, "pivot")
        confirmed = self.client.describe("chk-py-ok")
        self.assertTrue(all(step.state == "done" for step in confirmed.steps))
        self.assertEqual(confirmed.steps[2].result_id, self.confirmed.order_id)
        self.assertGreaterEqual(confirmed.history_total, len(confirmed.history))

    def test_cancel_and_retry_of_a_saga_that_ended(self):
        for call in (lambda: self.client.cancel("chk-py-ok", by="py-test", reason="late"),
                     lambda: self.client.retry("chk-py-declined", by="py-test")):
            with self.assertRaises(CoordinatorError) as caught:
                call()
            self.assertEqual(caught.exception.code, "conflict")
            self.assertIn("ended", caught.exception.message)
        with self.assertRaises(CoordinatorError) as caught:
            self.client.cancel("chk-py-never")
        self.assertEqual(caught.exception.code, "unknown_checkout")

    def test_bad_request(self):
        #  the client refuses it before it leaves, naming the key...
        with self.assertRaisesRegex(ValueError, r"checkout_id: must be 1\.\.64 bytes"):
            self.client.status("not an id")
        with self.assertRaisesRegex(ValueError, r"items\[0\]\.qty: 0 is out of range"):
            self.client.submit("chk-py-bad", payment_method="pm_card_visa",
                               **dict(CART, items=[("SKU-0001", 0, 150)]))
        with self.assertRaisesRegex(ValueError, r"items\[0\]: a \(sku, qty, unit_price\)"):
            self.client.submit("chk-py-bad", payment_method="pm_card_visa",
                               **dict(CART, items=[("SKU-0001", 1)]))
        with self.assertRaisesRegex(ValueError, "amount: 1 is not the sum"):
            self.client.submit("chk-py-bad", payment_method="pm_card_visa", amount=1, **CART)
        #  ...and the coordinator, sent it unchecked, answers bad_request
        with self.assertRaises(CoordinatorError) as caught:
            self.client.call("STATUS", {"checkout_id": "not an id"}, ("RESULT",), "",
                             check=False)
        self.assertEqual(caught.exception.code, "bad_request")
        self.assertIn("checkout_id", caught.exception.message)
        with self.assertRaises(CoordinatorError) as caught:
            self.client.call("LIST", {"limit": 0}, ("SAGAS",), "", check=False)
        self.assertEqual(caught.exception.code, "bad_request")
        with self.assertRaises(CoordinatorError) as caught:
            self.client.call("STATUS", {"checkout_id": "chk-py-ok", "v": "2.0.0"},
                             ("RESULT",), "chk-py-ok", check=False)
        self.assertEqual(caught.exception.code, "unsupported_version")

    def test_timeout(self):
        quiet = "ipc://%s/nobody" % self.group.dir
        with Client(quiet, timeout=0.2) as client:
            started = time.monotonic()
            with self.assertRaises(CheckoutTimeout):
                client.ping()
            self.assertLess(time.monotonic() - started, 2.0)


class Curve(unittest.TestCase):
    """The client under CURVE against a group that runs it: with the
    client's key it is served; without keys, or with a key no allow-list
    holds, the handshake fails and a call times out."""

    @classmethod
    def setUpClass(cls):
        cls.group = Group(curve=True)
        cls.addClassCleanup(cls.group.stop)
        cls.group.start()
        cls.client = Client(cls.group.frontend, timeout=TIMEOUT,
                            **cls.group.client_keys("client"))
        cls.addClassCleanup(cls.client.close)
        cls.confirmed = cls.client.submit("chk-py-curve", payment_method="pm_card_visa",
                                          **CART)

    def client_of(self, endpoint, timeout, **keys):
        client = Client(endpoint, timeout=timeout, **keys)
        self.addCleanup(client.close)
        return client

    def assert_times_out(self, client):
        started = time.monotonic()
        with self.assertRaises(CheckoutTimeout):
            client.ping()
        self.assertLess(time.monotonic() - started, 3.0)

    def test_submit_status_ping(self):
        self.assertEqual(self.confirmed.status, "confirmed")
        self.assertTrue(self.confirmed.order_id)
        status = self.client.status("chk-py-curve")
        self.assertEqual((status.status, status.saga_id),
                         ("confirmed", self.confirmed.saga_id))
        self.assertEqual(self.client.ping().version, protocol.VERSION)

    def test_operator_commands_need_the_admin_key(self):
        with self.assertRaises(CoordinatorError) as caught:
            self.client.describe("chk-py-curve")
        self.assertEqual(caught.exception.code, "forbidden")
        admin = self.client_of(self.group.frontend, TIMEOUT, **self.group.client_keys("admin"))
        self.assertEqual(admin.describe("chk-py-curve").saga_id, self.confirmed.saga_id)

    def test_a_client_without_keys_times_out(self):
        self.assert_times_out(self.client_of(self.group.frontend, 0.5))

    def test_a_key_in_no_allow_list_times_out(self):
        self.group.keygen("new", self.group.keys, "stranger")
        self.assert_times_out(self.client_of(self.group.frontend, 0.5,
                                             **self.group.client_keys("stranger")))

    def test_a_wrong_coordinator_key_times_out(self):
        keys = dict(self.group.client_keys("client"),
                    curve_server=self.group.key("admin.key"))
        self.assert_times_out(self.client_of(self.group.frontend, 0.5, **keys))

    def test_an_owner_learned_from_not_owner_gets_the_keys(self):
        #  a stand-in under CURVE names the real coordinator, which serves
        #  only a connection of an allowed key
        keys = self.group.client_keys("coordinator")
        fake = Fake("ipc://%s/redirects" % self.group.dir, False, owner=self.group.frontend,
                    server_keys=curve.load(keys["curve_secret"], keys["curve_server"]))
        self.addCleanup(fake.stop)
        client = self.client_of(fake.endpoint, TIMEOUT, **self.group.client_keys("client"))
        status = client.status("chk-py-curve")
        self.assertEqual(status.saga_id, self.confirmed.saga_id)
        self.assertEqual(client.answered_by, self.group.frontend)
        self.assertEqual(fake.hits, 1)

    def test_the_example_takes_the_keys(self):
        keys = self.group.client_keys("client")
        example = os.path.join(SOURCE, "clients", "python", "examples", "checkout_example.py")
        env = dict(os.environ, PYTHONPATH=os.path.join(SOURCE, "clients", "python"))
        run = subprocess.run([sys.executable, example, "--curve-secret", keys["curve_secret"],
                              "--curve-server", keys["curve_server"], self.group.frontend,
                              "chk-py-curve-example"], env=env, capture_output=True,
                             text=True, timeout=60)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        self.assertIn("checkout chk-py-curve-example: confirmed", run.stdout)
        self.assertIn("forbidden", run.stdout)          # describe and list: admin's
        run = subprocess.run([sys.executable, example, "--curve-secret", keys["curve_secret"],
                              self.group.frontend], env=env, capture_output=True, text=True,
                             timeout=60)
        self.assertEqual(run.returncode, 2)
        self.assertIn("go together", run.stderr)


class CurveKeys(unittest.TestCase):
    """Key files the client refuses, each with a ValueError naming it."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ck-python-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        cls.keys = os.path.join(cls.dir, "keys")
        subprocess.run([os.path.join(BIN, "checkout-keys"), "init", cls.keys], check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        cls.secret = os.path.join(cls.keys, "client.key_secret")
        cls.server = os.path.join(cls.keys, "coordinator.key")
        with open(cls.secret) as file:
            cls.secret_text = file.read()

    def written(self, name, text, mode=0o600):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as file:
            file.write(text.encode() if isinstance(text, str) else text)
        os.chmod(path, mode)
        return path

    def refused(self, pattern, secret, server):
        with self.assertRaisesRegex(ValueError, pattern):
            Client("ipc://%s/nobody" % self.dir, curve_secret=secret, curve_server=server)

    def test_the_files_read(self):
        keys = curve.load(self.secret, self.server)
        self.assertEqual(zmq.curve_public(keys.secret), keys.public)
        self.assertEqual(len(keys.server), 40)
        self.assertIn('"%s"' % keys.public.decode(), self.secret_text)

    def test_one_without_the_other(self):
        self.refused("go together", self.secret, None)
        self.refused("go together", None, self.server)

    def test_missing_or_unreadable(self):
        missing = os.path.join(self.dir, "missing.key_secret")
        self.refused("missing.key_secret: cannot read it", missing, self.server)
        self.refused("missing.key_secret: cannot read it", self.secret, missing)
        self.refused("cannot read it", self.keys, self.server)          # a directory
        self.refused("not a path", 42, self.server)

    def test_a_secret_others_may_read(self):
        path = self.written("open.key_secret", self.secret_text, 0o644)
        self.refused(r"open.key_secret: .*owner only \(chmod 600\)", path, self.server)

    def test_a_file_without_a_valid_key(self):
        #  the public certificate where the secret one goes
        self.refused("client.key: not a czmq certificate with a secret-key",
                     os.path.join(self.keys, "client.key"), self.server)
        secret_key = self.secret_text.split('secret-key = "')[1][:40]
        cases = {
            "short": self.secret_text.replace(secret_key, secret_key[:39]),
            "not Z85": self.secret_text.replace(secret_key, "~" + secret_key[1:]),
            "overflow": self.secret_text.replace(secret_key, "#" * 40),
            "zero": self.secret_text.replace(secret_key, curve.ZERO_KEY),
            "another pair": self.secret_text.replace(
                secret_key, zmq.curve_keypair()[1].decode()),
            "outside its section": self.secret_text.replace("curve\n", "other\n"),
            "binary": b"\xff\xfe\x00curve",
            "empty": "",
        }
        for name, text in cases.items():
            with self.subTest(case=name):
                path = self.written("bad.key_secret", text)
                self.refused("bad.key_secret: ", path, self.server)
        server = self.written("bad.key", "curve\n    public-key = \"%s\"\n" % ("0" * 40))
        self.refused("bad.key: public-key is zero", self.secret, server)
        server = self.written("bad.key", "curve\n    public-key = 'abc'\n")
        self.refused("bad.key: public-key is not 40 characters of Z85", self.secret, server)


class Replies(unittest.TestCase):
    """Replies that break the contract, from a ROUTER standing in for a
    coordinator (no coordinator sends them): each is a clear error at once."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ck-python-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        endpoint = "ipc://%s/fe" % self.dir
        self.router = zmq.Context.instance().socket(zmq.ROUTER)
        self.router.setsockopt(zmq.LINGER, 0)
        self.router.bind(endpoint)
        self.addCleanup(self.router.close)
        self.client = Client(endpoint, timeout=5.0)
        self.addCleanup(self.client.close)

    def answer(self, *frames):
        """Pings, answers with frames, returns what the client raised."""
        self.client.send("PING", None)
        self.assertTrue(self.router.poll(5000))
        peer = self.router.recv_multipart()[0]
        self.router.send_multipart([peer] + list(frames))
        started = time.monotonic()
        with self.assertRaises(MalformedReply) as caught:
            self.client.receive(5.0)
        self.assertLess(time.monotonic() - started, 1.0)
        return caught.exception

    def body(self, command, data):
        return self.answer(b"", b"CKC1", command, data)

    def test_frames(self):
        self.assertEqual(self.answer(b"", b"CKW1", b"PONG", b"\x80").code, "bad_frame")
        self.assertEqual(self.answer(b"CKC1", b"PONG", b"\x80").code, "bad_frame")
        self.assertEqual(self.answer(b"", b"CKC1", b"PING").code, "bad_frame")
        self.assertEqual(self.answer(b"", b"CKC1", b"PONG").code, "bad_frame")
        pong = msgpack.packb({"version": "1.0.0", "uptime_ms": 1})
        self.assertEqual(self.answer(b"", b"CKC1", b"PONG", pong, b"").code, "bad_frame")

    def test_bodies(self):
        pong = {"version": "1.0.0", "uptime_ms": 1}
        cases = [
            (b"\x93\x01\x02\x03", "bad_request", "not a map"),
            (msgpack.packb(pong) + b"\xc0", "bad_request", "not one valid"),
            (b"\xdf\x00\x98\x96\x80", "bad_request", "not one valid"),   # 10M entries
            (b"\x82\xa7version\xa51.0.0\xa7version\xa51.0.0", "bad_request", "given twice"),
            (msgpack.packb({"version": "1.0.0"}), "bad_request", "uptime_ms: missing"),
            (msgpack.packb(dict(pong, uptime_ms=-1)), "bad_request", "-1 is out of range"),
            (msgpack.packb(dict(pong, uptime_ms=1.5)), "bad_request", "non-negative"),
            (msgpack.packb(dict(pong, version=b"1.0.0"), use_bin_type=True),
             "bad_request", "version: must be a str"),
            (msgpack.packb(dict(pong, v="2.0.0")), "unsupported_version", "v: 2.0.0"),
            (msgpack.packb(dict(pong, v="one")), "bad_request", "not a version"),
            (msgpack.packb(dict(pong, deep=[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]])),
             "bad_request", "nested"),
            (msgpack.packb(dict(pong, pad="x" * protocol.MAX_BODY)), "too_large", "over"),
        ]
        for data, code, text in cases:
            with self.subTest(text=text):
                error = self.body(b"PONG", data)
                self.assertEqual(error.code, code)
                self.assertIn(text, error.message)
        result = {"checkout_id": "c", "saga_id": "s", "status": "done", "elapsed_us": 1}
        error = self.body(b"RESULT", msgpack.packb(result))
        self.assertIn("status: must be one of", error.message)
        error = self.body(b"ERROR", msgpack.packb({"code": "oops", "message": ""}))
        self.assertIn("code: must be one of", error.message)

    def test_a_valid_reply_still_reads(self):
        self.client.send("PING", None)
        self.assertTrue(self.router.poll(5000))
        peer = self.router.recv_multipart()[0]
        body = {"version": "1.0.0", "uptime_ms": 7, "v": "1.0.0", "later": {"x": 1}}
        self.router.send_multipart([peer, b"", b"CKC1", b"PONG", msgpack.packb(body)])
        command, pong = self.client.receive(5.0)
        self.assertEqual((command, pong.version, pong.uptime_ms), ("PONG", "1.0.0", 7))
        self.assertNotIn("later", pong)


class Fake(threading.Thread):
    """A ROUTER standing in for one of several coordinators: it owns every
    checkout (RESULT confirmed, PONG), or none (not_owner naming owner, or
    "" for the first `blank` requests).  hits counts requests about a
    checkout."""

    def __init__(self, endpoint, owns, owner="", blank=0, server_keys=None):
        super().__init__(daemon=True)
        self.endpoint, self.owns, self.owner, self.blank = endpoint, owns, owner, blank
        self.hits = 0
        self.router = zmq.Context.instance().socket(zmq.ROUTER)
        self.router.setsockopt(zmq.LINGER, 0)
        if server_keys:                 # a CURVE server of that key pair, any client
            self.router.setsockopt(zmq.CURVE_SERVER, 1)
            self.router.setsockopt(zmq.CURVE_PUBLICKEY, server_keys.public)
            self.router.setsockopt(zmq.CURVE_SECRETKEY, server_keys.secret)
        self.router.bind(endpoint)
        self.running = True
        self.start()

    def run(self):
        while self.running:
            if not self.router.poll(50):
                continue
            peer, _, _, command, *rest = self.router.recv_multipart()
            body = msgpack.unpackb(rest[0]) if rest else {}
            reply = self.answer(command.decode(), body)
            self.router.send_multipart([peer, b"", b"CKC1", reply[0].encode(),
                                        msgpack.packb(reply[1])])
        self.router.close()

    def answer(self, command, body):
        if command == "PING":
            return "PONG", {"version": "1.0.0", "uptime_ms": 1}
        self.hits += 1
        checkout_id = body["checkout_id"]
        if self.owns:
            return "RESULT", {"checkout_id": checkout_id, "saga_id": "saga-" + checkout_id,
                              "status": "confirmed", "order_id": "ord-1", "elapsed_us": 1}
        owner = "" if self.blank > 0 else self.owner
        self.blank -= 1
        return "ERROR", {"code": "not_owner", "message": "ask the owner",
                         "checkout_id": checkout_id, "owner": owner}

    def stop(self):
        self.running = False
        self.join(5)


class SeveralCoordinators(unittest.TestCase):
    """A client of several frontends follows not_owner: the caller never
    sees it, and each request reaches the owner once."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ck-python-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.owner = self.fake("owner", True)
        self.other = self.fake("other", False, owner=self.owner.endpoint)

    def fake(self, name, owns, **kwargs):
        fake = Fake("ipc://%s/%s" % (self.dir, name), owns, **kwargs)
        self.addCleanup(fake.stop)
        return fake

    def client(self, endpoint, timeout=5.0):
        client = Client(endpoint, timeout=timeout)
        self.addCleanup(client.close)
        return client

    def test_not_owner_is_followed_to_the_owner(self):
        client = self.client(self.other.endpoint)   # the owner is not given
        result = client.submit("chk-py-own", **dict(CART, payment_method="pm_card_visa"))
        self.assertEqual((result.checkout_id, result.status), ("chk-py-own", "confirmed"))
        self.assertEqual(client.answered_by, self.owner.endpoint)
        self.assertEqual(client.status("chk-py-own").status, "confirmed")
        self.assertEqual((self.owner.hits, self.other.hits), (2, 2))
        #  a list given as one comma-separated text, or as a list
        for endpoint in ("%s,%s" % (self.other.endpoint, self.owner.endpoint),
                         [self.other.endpoint, self.owner.endpoint]):
            client = self.client(endpoint)
            self.assertEqual(client.status("chk-py-own").status, "confirmed")

    def test_no_owner_yet_is_asked_again_after_a_pause(self):
        self.other.blank = 2
        client = self.client(self.other.endpoint)
        started = time.monotonic()
        self.assertEqual(client.status("chk-py-blank").status, "confirmed")
        took = time.monotonic() - started
        self.assertGreaterEqual(took, 0.15)          # 50 ms, then 100 ms
        self.assertLess(took, 3.0)
        self.assertEqual((self.other.hits, self.owner.hits), (3, 1))

    def test_a_loop_of_redirects_ends_with_an_error(self):
        confused = self.fake("confused", False, owner=self.other.endpoint)
        self.other.owner = confused.endpoint
        client = self.client([self.other.endpoint, confused.endpoint])
        started = time.monotonic()
        with self.assertRaises(CoordinatorError) as caught:
            client.status("chk-py-loop")
        self.assertLess(time.monotonic() - started, 2.0)
        self.assertEqual(caught.exception.code, "not_owner")
        self.assertIn("gave up", caught.exception.message)
        self.assertEqual(self.other.hits + confused.hits, 17)
        self.other.owner = "not an endpoint"
        with self.assertRaises(CoordinatorError) as caught:
            client.status("chk-py-loop")
        self.assertIn("cannot connect to the owner", caught.exception.message)

    def test_a_dead_owner_named_is_waited_out(self):
        dead = "ipc://%s/dead-owner" % self.dir
        self.other.owner = dead                     # its lease has not run out yet
        client = self.client([self.other.endpoint, dead])

        def takeover():
            time.sleep(0.4)
            self.other.owner = self.owner.endpoint
        threading.Thread(target=takeover, daemon=True).start()
        started = time.monotonic()
        self.assertEqual(client.status("chk-py-dead-owner").status, "confirmed")
        self.assertGreaterEqual(time.monotonic() - started, 0.35)
        self.assertLessEqual(self.other.hits, 6)    # paused, not hammered
        self.assertEqual(self.owner.hits, 1)

    def test_a_dead_frontend_gives_way_to_the_next(self):
        dead = "ipc://%s/nobody" % self.dir
        client = self.client([dead, self.owner.endpoint], timeout=2.0)
        started = time.monotonic()
        self.assertEqual(client.ping().version, "1.0.0")
        self.assertLess(time.monotonic() - started, 0.9)     # it takes nothing
        started = time.monotonic()                  # starts where the answer came from
        self.assertEqual(client.status("chk-py-dead").status, "confirmed")
        self.assertLess(time.monotonic() - started, 0.9)
        self.owner.stop()
        with self.assertRaises(CheckoutTimeout):
            client.status("chk-py-dead", timeout=0.5)

    def test_a_silent_frontend_gives_way_after_its_share(self):
        silent = zmq.Context.instance().socket(zmq.ROUTER)  # takes, never answers
        silent.setsockopt(zmq.LINGER, 0)
        silent.bind("ipc://%s/silent" % self.dir)
        self.addCleanup(silent.close)
        client = self.client(["ipc://%s/silent" % self.dir, self.owner.endpoint], timeout=2.0)
        time.sleep(0.2)                             # both connected
        started = time.monotonic()
        self.assertEqual(client.status("chk-py-silent").status, "confirmed")
        took = time.monotonic() - started
        self.assertGreaterEqual(took, 0.99)          # the silent one had half
        self.assertLess(took, 2.0)
        self.assertEqual(client.answered_by, self.owner.endpoint)

    def test_bad_frontend_lists(self):
        for endpoint in ("", "ipc://%s/a,," % self.dir, [], ["nowhere"],
                         ["tcp://127.0.0.1:%d" % (1 + i) for i in range(17)]):
            with self.subTest(endpoint=endpoint):
                with self.assertRaises(ValueError):
                    Client(endpoint)


if __name__ == "__main__":
    unittest.main(verbosity=2)
