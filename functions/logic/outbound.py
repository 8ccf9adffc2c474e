"""Outbound HTTP for webhooks: DNS resolution and a POST pinned to checked addresses.

The standard library's http.client is enough (no requests in the Lambda package). The
connection goes to an address that `domain.webhooks.check_url` has just checked, while TLS
still verifies the certificate against the URL's host name, so a DNS answer that changes
between the check and the connection (rebinding) cannot steer a delivery into the VPC or to
the metadata service. Redirects are not followed (a 3xx counts as a failed attempt).
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from functions.domain.webhooks import Target

MAX_RESPONSE_BYTES = 4096


def resolve(host: str, port: int) -> Iterable[str]:
    """Every address `host` resolves to (raises OSError when it does not resolve)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, address: str, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, address: str, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = address
        self._tls = ssl.create_default_context()

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


@dataclass(frozen=True)
class PostResult:
    status: int | None  # None when no HTTP answer came back
    detail: str

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(target: Target, body: bytes, headers: Mapping[str, str], timeout: float) -> PostResult:
    """POST `body` to the first checked address that accepts a connection."""
    last = "no address to connect to"
    for address in target.addresses:
        cls = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
        connection = cls(target, address, timeout)
        try:
            connection.request("POST", target.path, body=body, headers=dict(headers))
            response = connection.getresponse()
            response.read(MAX_RESPONSE_BYTES)
            return PostResult(response.status, f"HTTP {response.status}")
        except (OSError, http.client.HTTPException) as exc:
            last = f"{type(exc).__name__}: {exc}"
        finally:
            connection.close()
    return PostResult(None, last)
