"""A client of the coordinator's frontend: one DEALER, one request at a time."""

import getpass
import os
import time

import zmq

from . import protocol
from .protocol import ProtocolError

DEFAULT_ENDPOINT = "tcp://127.0.0.1:5570"
DEFAULT_TIMEOUT = 10.0          # s to wait for an answer
LINGER_MS = 100                 # close never hangs on unsent messages
SNDHWM = 100000                 # requests queued while the coordinator is away


class CheckoutError(Exception):
    """What every error of this package derives from (but ValueError for a
    request that breaks the contract before it is sent)."""


class CoordinatorError(CheckoutError):
    """The coordinator answered ERROR: code is one of protocol.ERROR_CODES."""

    def __init__(self, code, message, checkout_id=None):
        super().__init__("%s: %s" % (code, message))
        self.code, self.message, self.checkout_id = code, message, checkout_id


class CheckoutTimeout(CheckoutError, TimeoutError):
    """No answer within the timeout.  The request may still be served: a
    checkout that timed out may run; ask its status, or submit it again
    (the checkout_id is the idempotency key)."""


class MalformedReply(CheckoutError, ProtocolError):
    """A reply that breaks the wire contract (ProtocolError's code and
    message say how)."""


class Client:
    """Requests to a coordinator's frontend (docs/protocol.md, CKC1).

    Each blocking call sends one request and waits up to timeout seconds for
    its answer, skipping ACCEPTED and replies about other checkouts (late
    answers to earlier requests).  It returns the answer as a
    protocol.Body, or raises CoordinatorError, CheckoutTimeout or
    MalformedReply.  Not thread-safe: one Client per thread.
    """

    def __init__(self, endpoint=DEFAULT_ENDPOINT, timeout=DEFAULT_TIMEOUT, context=None):
        self.endpoint, self.timeout = endpoint, timeout
        self._socket = (context or zmq.Context.instance()).socket(zmq.DEALER)
        self._socket.setsockopt(zmq.LINGER, LINGER_MS)
        self._socket.setsockopt(zmq.SNDHWM, SNDHWM)
        #  a little over the body limit: the parser, not the transport
        #  (which would drop the connection silently), names a large reply
        self._socket.setsockopt(zmq.MAXMSGSIZE, protocol.MAX_BODY + 1024)
        try:
            self._socket.connect(endpoint)
        except zmq.ZMQError as error:
            self._socket.close(0)
            raise ValueError("%s: not an endpoint ZeroMQ can connect to (%s)"
                             % (endpoint, error)) from None

    def close(self):
        if not self._socket.closed:
            self._socket.close()

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
        None for PING).  The building block of the calls above, and a way to
        send a body the helpers would not build (check=False sends it
        unchecked, to see what the coordinator says of it)."""
        self.send(command, body, check)
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            try:
                command_in, reply = self.receive(max(0.0, deadline - time.monotonic()))
            except CheckoutTimeout:
                raise CheckoutTimeout("no answer to %s from %s within %.3f s"
                                      % (command, self.endpoint, timeout)) from None
            if command_in == "ERROR":
                #  an ERROR without checkout_id answers whoever asked: the
                #  coordinator could not read the id
                if reply.checkout_id in (None, about):
                    raise CoordinatorError(reply.code, reply.message, reply.checkout_id)
            elif command_in in answers and _about(command_in, reply) in (about, None):
                return reply
            elif command_in == "ACCEPTED" and reply.checkout_id == about and on_accepted:
                on_accepted(reply)

    def send(self, command, body, check=True):
        """Encodes and queues one request; ValueError when the body breaks
        the contract (unless check is False).  Never blocks: zmq.Again past
        SNDHWM queued requests."""
        data = protocol.encode(command, body, check)
        frames = [b"", protocol.SIGNATURE, command.encode("ascii")]
        if data is not None:
            frames.append(data)
        self._socket.send_multipart(frames, flags=zmq.DONTWAIT)

    def receive(self, timeout):
        """The next reply within timeout seconds, as (command, Body);
        CheckoutTimeout when none came, MalformedReply for one that breaks
        the contract."""
        if not self._socket.poll(int(timeout * 1000) if timeout > 0 else 0, zmq.POLLIN):
            raise CheckoutTimeout("no answer from %s within %.3f s" % (self.endpoint, timeout))
        frames = self._socket.recv_multipart(zmq.DONTWAIT)
        try:
            command, data = protocol.parse_frames(frames)
            return command, protocol.decode(command, data)
        except ProtocolError as error:
            raise MalformedReply(error.code, error.message, error.command) from None


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
