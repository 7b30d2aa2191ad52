"""A client of coordinators' frontends: a DEALER per frontend, one request at a
time, not_owner followed to the owner (docs/protocol.md#partitions)."""

import getpass
import os
import time

import zmq

from . import curve, protocol
from .protocol import ProtocolError

DEFAULT_ENDPOINT = "tcp://127.0.0.1:5570"
DEFAULT_TIMEOUT = 10.0          # s to wait for an answer
LINGER_MS = 100                 # close never hangs on unsent messages
SNDHWM = 100000                 # requests queued while the coordinator is away
FRONTENDS_MAX = 16              # frontends given to one client
OWNERS_MAX = 8                  # other owners' frontends it may learn
HOPS_MAX = 16                   # not_owner answers followed per request
BACKOFF_FIRST = 0.05            # s to wait after owner "", doubling
BACKOFF_MAX = 1.0
SEND_AGAIN = 0.02               # s to wait when no frontend took a request


class CheckoutError(Exception):
    """What every error of this package derives from (but ValueError for a
    request that breaks the contract before it is sent)."""


class CoordinatorError(CheckoutError):
    """The coordinator answered ERROR: code is one of protocol.ERROR_CODES."""

    def __init__(self, code, message, checkout_id=None, owner=None):
        super().__init__("%s: %s" % (code, message))
        self.code, self.message, self.checkout_id = code, message, checkout_id
        self.owner = owner


class CheckoutTimeout(CheckoutError, TimeoutError):
    """No answer within the timeout.  The request may still be served: a
    checkout that timed out may run; ask its status, or submit it again
    (the checkout_id is the idempotency key)."""


class MalformedReply(CheckoutError, ProtocolError):
    """A reply that breaks the wire contract (ProtocolError's code and
    message say how)."""


class Client:
    """Requests to coordinators' frontends (docs/protocol.md, CKC1).

    endpoint is one frontend, several separated by commas, or a list of
    them: coordinators sharing a saga log (docs/protocol.md#partitions).
    The client keeps a DEALER per frontend and sends each request to one of
    them.  A coordinator that does not own the checkout answers not_owner
    naming the owner's frontend: the call sends the same request there
    (connecting to it if it is not one of the frontends), or, with owner ""
    (a takeover under way), to another frontend after a short pause; after
    HOPS_MAX of them it raises CoordinatorError not_owner.  With several
    frontends, one whose connection is down takes no request (ZMQ_IMMEDIATE)
    and the next gets it at once; one that takes it and stays silent for
    its share of the timeout (the time left split over the frontends not
    tried yet) is given up for the next.  A call starts at the frontend that
    answered last.  The owner is known for one call only.

    Under CURVE (a group's default, docs/operations.md "Keys and CURVE"),
    curve_secret is the path of the client's secret certificate
    (KEYS/client.key_secret, mode 0600) and curve_server the coordinator's
    public one (KEYS/coordinator.key): both or neither; ValueError for one
    without the other, or a file missing, unreadable or without its key.
    Every DEALER the client makes, the owners' too, is then a CURVE client
    of that key.  The coordinator fails the handshake of a key that holds
    no frontend role, of a wrong coordinator key, and of a client without
    CURVE: the client cannot tell, nothing reaches it, and each call raises
    CheckoutTimeout.  A key of the client role may send CHECKOUT, STATUS
    and PING; the operator's commands need one of the admin role (else
    CoordinatorError forbidden).

    Each blocking call sends one request and waits up to timeout seconds for
    its answer, skipping ACCEPTED and replies about other checkouts (late
    answers to earlier requests).  It returns the answer as a
    protocol.Body, or raises CoordinatorError, CheckoutTimeout or
    MalformedReply.  Not thread-safe: one Client per thread.
    """

    def __init__(self, endpoint=DEFAULT_ENDPOINT, timeout=DEFAULT_TIMEOUT, context=None,
                 curve_secret=None, curve_server=None):
        self._keys = curve.load(curve_secret, curve_server)
        given = endpoint.split(",") if isinstance(endpoint, str) else list(endpoint)
        self.frontends = list(dict.fromkeys(given))         # in order, repeats dropped
        if not self.frontends or len(self.frontends) > FRONTENDS_MAX:
            raise ValueError("%r: give 1..%d frontends" % (endpoint, FRONTENDS_MAX))
        self.endpoint, self.timeout = ",".join(self.frontends), timeout
        self.answered_by = None         # the frontend of the last reply
        self._context = context or zmq.Context.instance()
        self._links = {}                # endpoint -> DEALER, the frontends first
        self._current = 0               # the frontend the next call starts at
        try:
            for frontend in self.frontends:
                self._link(frontend, immediate=len(self.frontends) > 1)
        except ValueError:
            self.close()
            raise

    def _link(self, endpoint, immediate=False):
        """The DEALER connected to endpoint, made on first use.  immediate:
        it queues only on a connection that is up, so a request to a
        coordinator that is down fails at once and goes elsewhere."""
        if endpoint in self._links:
            return self._links[endpoint]
        socket = self._context.socket(zmq.DEALER)
        socket.setsockopt(zmq.LINGER, LINGER_MS)
        socket.setsockopt(zmq.SNDHWM, SNDHWM)
        socket.setsockopt(zmq.IMMEDIATE, 1 if immediate else 0)
        #  a little over the body limit: the parser, not the transport
        #  (which would drop the connection silently), names a large reply
        socket.setsockopt(zmq.MAXMSGSIZE, protocol.MAX_BODY + 1024)
        curve.apply(self._keys, socket)
        try:
            if not isinstance(endpoint, str) or not endpoint:
                raise zmq.ZMQError(zmq.EINVAL)
            socket.connect(endpoint)
        except zmq.ZMQError as error:
            socket.close(0)
            raise ValueError("%r: not an endpoint ZeroMQ can connect to (%s)"
                             % (endpoint, error)) from None
        self._links[endpoint] = socket
        return socket

    def close(self):
        for socket in self._links.values():
            if not socket.closed:
                socket.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---------------------------------------------------------------------
    # The client protocol

    def submit(self, checkout_id, cart_id, customer_id, currency, items, payment_method,
               country, amount=None, ack=False, timeout=None, on_accepted=None):
        """Submits a checkout and waits for its RESULT.

        items are (sku, qty, unit_price) tuples or maps with those keys, the
        prices in minor units; amount defaults to their sum.  With ack the
        coordinator sends ACCEPTED once the saga is durable: on_accepted
        (when given) is called with it, and the wait goes on for the RESULT.
        """
        lines = [_line(item, i) for i, item in enumerate(items)]
        if amount is None:
            amount = sum(line.get("qty", 0) * line.get("unit_price", 0) for line in lines
                         if isinstance(line.get("qty"), int)
                         and isinstance(line.get("unit_price"), int))
        body = {"checkout_id": checkout_id, "cart_id": cart_id, "customer_id": customer_id,
                "currency": currency, "items": lines, "amount": amount,
                "payment_method": payment_method, "ship_to": {"country": country}}
        if ack:
            body["ack"] = True
        return self.call("CHECKOUT", body, ("RESULT",), checkout_id, timeout, on_accepted)

    def status(self, checkout_id, timeout=None):
        """Where a checkout stands: its RESULT, with its history."""
        return self.call("STATUS", {"checkout_id": checkout_id}, ("RESULT",), checkout_id,
                         timeout)

    def ping(self, timeout=None):
        """The coordinator's PONG: version, uptime_ms, unserved."""
        return self.call("PING", None, ("PONG",), None, timeout)

    # ---------------------------------------------------------------------
    # The operator's commands

    def list_page(self, status=None, since_ms=None, limit=None, cursor=None, timeout=None):
        """One page of sagas, newest first: a SAGAS body with sagas and,
        when more may follow, next (the cursor of the next page).  A page
        may hold fewer than limit sagas, or none, and still have a next."""
        body = {key: value for key, value in (("status", status), ("since_ms", since_ms),
                                              ("limit", limit), ("cursor", cursor))
                if value is not None}
        return self.call("LIST", body, ("SAGAS",), "", timeout)

    def list(self, status=None, since_ms=None, limit=20, cursor=None, timeout=None):
        """Up to limit sagas, newest first, asking page after page (each
        page with its own timeout) until there are that many or no next."""
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise ValueError("limit: must be 1 or more")
        sagas = []
        while len(sagas) < limit:
            page = self.list_page(status, since_ms, min(limit - len(sagas), protocol.MAX_LIST),
                                  cursor, timeout)
            sagas.extend(page["sagas"])
            cursor = page.next
            if cursor is None:
                break
        return sagas

    def describe(self, checkout_id, timeout=None):
        """The whole saga: a DESCRIPTION body (cart, steps, history)."""
        return self.call("DESCRIBE", {"checkout_id": checkout_id}, ("DESCRIPTION",),
                         checkout_id, timeout)

    def retry(self, checkout_id, by=None, timeout=None):
        """Makes a saga that has not ended try its current request now;
        returns its RESULT as it stands after (status pending or stuck)."""
        body = {"checkout_id": checkout_id, "by": by or _user()}
        return self.call("RETRY", body, ("RESULT",), checkout_id, timeout)

    def cancel(self, checkout_id, by=None, reason=None, timeout=None):
        """Fails a saga that has not reached its pivot step; returns its
        RESULT as it stands after.  CoordinatorError conflict when it has
        ended, is at or past its pivot, or is compensating already."""
        body = {"checkout_id": checkout_id, "by": by or _user()}
        if reason is not None:
            body["reason"] = reason
        return self.call("CANCEL", body, ("RESULT",), checkout_id, timeout)

    # ---------------------------------------------------------------------
    # Underneath

    def call(self, command, body, answers, about, timeout=None, on_accepted=None,
             check=True):
        """Sends command with body (a dict, None for PING) and waits for one
        of answers, or an ERROR, about checkout_id `about` ("" for none,
        None for PING), following not_owner and giving a silent frontend up
        for the next.  The building block of the calls above, and a way to
        send a body the helpers would not build (check=False sends it
        unchecked, to see what the coordinator says of it)."""
        frames = self._frames(command, body, check)
        timeout = self.timeout if timeout is None else timeout
        call = _Call(self, frames, time.monotonic() + timeout)
        call.send_to(self.frontends[self._current])
        while True:
            try:
                command_in, reply = self.receive(call.wait())
            except CheckoutTimeout:
                if time.monotonic() >= call.deadline:
                    raise CheckoutTimeout("no answer to %s from %s within %.3f s"
                                          % (command, self.endpoint, timeout)) from None
                call.due()
                continue
            if command_in == "ERROR" and reply.code == "not_owner" and about \
                    and reply.checkout_id == about:
                call.follow(reply)
            elif command_in == "ERROR":
                #  an ERROR without checkout_id answers whoever asked: the
                #  coordinator could not read the id
                if reply.checkout_id in (None, about):
                    raise CoordinatorError(reply.code, reply.message, reply.checkout_id,
                                           reply.owner)
            elif command_in in answers and _about(command_in, reply) in (about, None):
                if self.answered_by in self.frontends:
                    self._current = self.frontends.index(self.answered_by)
                return reply
            elif command_in == "ACCEPTED" and reply.checkout_id == about and on_accepted:
                on_accepted(reply)

    def send(self, command, body, check=True, endpoint=None):
        """Encodes and queues one request to endpoint (default: the frontend
        calls start at); ValueError when the body breaks the contract
        (unless check is False).  Never blocks: zmq.Again past SNDHWM
        queued requests, or with several frontends while that one is not
        connected."""
        frames = self._frames(command, body, check)
        self._link(endpoint or self.frontends[self._current]).send_multipart(
            frames, flags=zmq.DONTWAIT)

    def _frames(self, command, body, check):
        data = protocol.encode(command, body, check)
        frames = [b"", protocol.SIGNATURE, command.encode("ascii")]
        if data is not None:
            frames.append(data)
        return frames

    def receive(self, timeout):
        """The next reply from any frontend within timeout seconds, as
        (command, Body); CheckoutTimeout when none came, MalformedReply for
        one that breaks the contract."""
        poller = zmq.Poller()
        for socket in self._links.values():
            poller.register(socket, zmq.POLLIN)
        ready = poller.poll(int(timeout * 1000) if timeout > 0 else 0)
        if not ready:
            raise CheckoutTimeout("no answer from %s within %.3f s" % (self.endpoint, timeout))
        socket = ready[0][0]
        self.answered_by = next(endpoint for endpoint, link in self._links.items()
                                if link is socket)
        frames = socket.recv_multipart(zmq.DONTWAIT)
        try:
            command, data = protocol.parse_frames(frames)
            return command, protocol.decode(command, data)
        except ProtocolError as error:
            raise MalformedReply(error.code, error.message, error.command) from None


class _Call:
    """One request of Client.call on its way: where it went, how often it
    was redirected, when its frontend is given up, when a pause ends."""

    def __init__(self, client, frames, deadline):
        self.client, self.frames, self.deadline = client, frames, deadline
        self.tried, self.hops = 0, 0
        self.endpoint = None
        self.attempt_end = deadline
        self.resend_at = None           # after owner "": when to ask again
        self.next_frontend = None

    def send_to(self, endpoint):
        """Sends the request to endpoint, or when it is a frontend that
        takes nothing (down), to the next that does, each skipped counting
        as tried; a frontend gets the time left shared among the frontends
        not tried yet.  With none taking it, asks again a moment later."""
        self.resend_at = None
        frontends = self.client.frontends
        if endpoint not in frontends:
            self.endpoint = endpoint
            self.client._link(endpoint).send_multipart(self.frames, flags=zmq.DONTWAIT)
            return
        first = frontends.index(endpoint)
        for skipped in range(len(frontends)):
            candidate = frontends[(first + skipped) % len(frontends)]
            try:
                self.client._link(candidate).send_multipart(self.frames, flags=zmq.DONTWAIT)
            except zmq.Again:
                continue
            self.endpoint = candidate
            self.tried = min(self.tried + skipped, len(frontends) - 1)
            left = max(0.0, self.deadline - time.monotonic())
            self.attempt_end = time.monotonic() + left / (len(frontends) - self.tried)
            return
        self.endpoint, self.next_frontend = endpoint, endpoint
        self.resend_at = time.monotonic() + SEND_AGAIN

    def wait(self):
        """Seconds to wait for a reply before something is due."""
        until = min(self.deadline, self.attempt_end, self.resend_at or self.deadline)
        return max(0.0, until - time.monotonic())

    def due(self):
        """Sends again when a pause ended, or to the next frontend when this
        one stayed silent for its share."""
        now = time.monotonic()
        frontends = self.client.frontends
        if self.resend_at is not None and now >= self.resend_at:
            self.send_to(self.next_frontend)
        elif now >= self.attempt_end and self.tried + 1 < len(frontends):
            self.tried += 1
            self.hops = 0
            following = (frontends.index(self.endpoint) + 1) % len(frontends) \
                if self.endpoint in frontends else self.tried % len(frontends)
            self.send_to(frontends[following])
        elif now >= self.attempt_end:
            self.attempt_end = self.deadline

    def follow(self, error):
        """Sends the request to the owner error names, or after a pause to
        another frontend when it names none or its connection is down (it
        has just died); CoordinatorError when it was redirected HOPS_MAX
        times, or the owner is not an endpoint."""
        def give_up(why):
            raise CoordinatorError("not_owner", "%s (last from %s, owner %r)"
                                   % (why, self.client.answered_by, error.owner),
                                   error.checkout_id, error.owner)
        if self.hops >= HOPS_MAX:
            give_up("not_owner %d times in a row: gave up" % HOPS_MAX)
        self.hops += 1
        frontends = self.client.frontends
        if error.owner:
            learned = len(self.client._links) - len(frontends)
            if error.owner not in self.client._links and learned >= OWNERS_MAX:
                give_up("more than %d owners not among the frontends" % OWNERS_MAX)
            try:
                socket = self.client._link(error.owner)
            except ValueError:
                give_up("cannot connect to the owner named")
            try:
                socket.send_multipart(self.frames, flags=zmq.DONTWAIT)
                self.endpoint, self.resend_at = error.owner, None
                return
            except zmq.Again:
                pass                    # down: wait as for no owner
        pause = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** min(self.hops - 1, 5))
        here = self.client.answered_by
        index = frontends.index(here) + 1 if here in frontends else self.hops
        self.next_frontend = frontends[index % len(frontends)]
        self.resend_at = time.monotonic() + pause


def _line(item, index):
    """A line of a cart as a map, from a map or (sku, qty, unit_price)."""
    if isinstance(item, dict):
        return item
    if not isinstance(item, (tuple, list)) or len(item) != 3:
        raise ValueError("items[%d]: a (sku, qty, unit_price) tuple or a map" % index)
    return {"sku": item[0], "qty": item[1], "unit_price": item[2]}


def _about(command, reply):
    """The checkout a reply is about: "" for SAGAS, None for PONG."""
    if command == "SAGAS":
        return ""
    return reply.get("checkout_id")


def _user():
    """Who asks, when the caller does not say: this process's user."""
    try:
        return getpass.getuser()[:protocol.BY_MAX] or "uid-%d" % os.geteuid()
    except (KeyError, OSError):
        return "uid-%d" % os.geteuid()
