"""A Python client of the checkout coordinator (docs/protocol.md, CKC1).

    from checkout_client import Client
    with Client("tcp://127.0.0.1:5570") as client:
        result = client.submit("chk-1", "cart-1", "cust-1", "EUR",
                               [("SKU-0001", 2, 150)], "pm_card_visa", "DE")
        print(result.status, result.order_id)
"""

from .client import (CheckoutError, CheckoutTimeout, Client, CoordinatorError,
                     DEFAULT_ENDPOINT, DEFAULT_TIMEOUT, MalformedReply)
from .protocol import Body, ProtocolError, ERROR_CODES, VERSION

__all__ = ["Body", "CheckoutError", "CheckoutTimeout", "Client", "CoordinatorError",
           "DEFAULT_ENDPOINT", "DEFAULT_TIMEOUT", "ERROR_CODES", "MalformedReply",
           "ProtocolError", "VERSION"]
