"""DynamoDB's transaction-conflict rule, in front of an emulator that lacks it (DynamoDB Local).

DynamoDB Local applies transactions one at a time and never raises `TransactionConflict`, so a
design whose writers collide on real DynamoDB looks fine on it. This proxy forwards every
request of DynamoDB's JSON protocol (``X-Amz-Target: DynamoDB_20120810.<Op>``) to DynamoDB
Local and adds the rule DynamoDB documents ("Transaction conflict handling"):

- a ``TransactWriteItems`` that names an item (table + primary key) held by another in-flight
  ``TransactWriteItems`` is cancelled: ``TransactionCanceledException`` with one cancellation
  reason per action, ``TransactionConflict`` for the held items and ``None`` for the others;
- a ``PutItem``, ``UpdateItem`` or ``DeleteItem`` of an item held by an in-flight transaction
  fails with ``TransactionConflictException``.

A transaction holds its items while DynamoDB Local applies it and then for `hold_seconds`
more: DynamoDB commits a transaction in two phases over the partitions it touches, which takes
tens of milliseconds, while DynamoDB Local applies one in a few. Without a hold the window in
which two writers can collide is only DynamoDB Local's own time, and the emulator would again
report fewer conflicts than DynamoDB (docs/benchmarks.md, "Many shards, one hot survey").

It also counts what DynamoDB would bill (thread-safe; `counts()` in this process, or
``GET /__conflicts`` from another): transactions attempted, committed, cancelled by a conflict
or by a condition; single writes; items written; and write units, one per started KB of each
item written (its size after the write, as `functions.store.scores.item_size` computes it),
twice that inside a transaction. Not emulated: ``TransactGetItems`` (Hark does not use it) and
``BatchWriteItem`` conflicts (DynamoDB's rule names only single writes and transactions).
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import zlib
from collections import Counter
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlparse

from functions.store.scores import item_size

# A transaction's items stay held this long after DynamoDB Local answered (see the docstring).
DEFAULT_HOLD_SECONDS = 0.02
COUNTS_PATH = "/__conflicts"
TARGET_PREFIX = "DynamoDB_20120810."
_ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"
SINGLE_WRITES = ("PutItem", "UpdateItem", "DeleteItem")
ItemKey = tuple[str, str]  # table, the key attributes as canonical JSON

COUNTERS = (
    "requests",
    "transactions_attempted",
    "transactions_committed",
    "transactions_conflicted",
    "transactions_refused",
    "transactions_failed",
    "single_writes",
    "single_writes_conflicted",
    "single_writes_refused",
    "batch_writes",
    "items_written",
    "write_units",
    "write_units_refused",
    # milliseconds DynamoDB Local took to apply the transactions it was sent (the hold excluded)
    "transaction_upstream_ms",
)


def write_units(size: int) -> int:
    """On-demand write units of one item write outside a transaction: 1 per started KB."""
    return max(1, -(-size // 1024))


def _error(code: str, message: str, **extra: Any) -> tuple[int, bytes]:
    return 400, json.dumps({"__type": _ERROR_PREFIX + code, "message": message, **extra}).encode()


def cancellation(conflicted: list[bool]) -> tuple[int, bytes]:
    """DynamoDB's answer to a transaction cancelled because some of its items were held."""
    codes = ["TransactionConflict" if held else "None" for held in conflicted]
    reasons = [
        {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
        if held
        else {"Code": "None"}
        for held in conflicted
    ]
    return _error(
        "TransactionCanceledException",
        f"Transaction cancelled, please refer cancellation reasons for specific reasons [{', '.join(codes)}]",
        CancellationReasons=reasons,
    )


class ConflictProxy:
    """A threaded HTTP proxy to `upstream` (DynamoDB Local) that emulates transaction conflicts."""

    def __init__(
        self, upstream: str, *, hold_seconds: float = DEFAULT_HOLD_SECONDS, host: str = "127.0.0.1"
    ) -> None:
        self.upstream = urlparse(upstream)
        self.hold_seconds = hold_seconds
        self._lock = threading.Lock()
        self._held: set[ItemKey] = set()
        self._counts: Counter[str] = Counter()
        self._schemas: dict[str, list[str]] = {}
        self._local = threading.local()
        self._server = ThreadingHTTPServer((host, 0), self._handler_class())
        self._server.daemon_threads = True
        self._server.request_queue_size = 128
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> ConflictProxy:
        self._thread = threading.Thread(target=self._server.serve_forever, name="conflicts", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> ConflictProxy:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # -- counters ---------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Every counter (zeros included), as of now."""
        with self._lock:
            return {name: self._counts[name] for name in COUNTERS} | {
                k: v for k, v in self._counts.items() if k not in COUNTERS
            }

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()

    def held(self) -> int:
        """How many items in-flight transactions hold now."""
        with self._lock:
            return len(self._held)

    def _add(self, **deltas: int) -> None:
        with self._lock:
            self._counts.update(deltas)

    # -- forwarding -------------------------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(
                self.upstream.hostname or "127.0.0.1", self.upstream.port, timeout=60
            )
            self._local.conn = conn
        return conn

    def forward(self, body: bytes, headers: Mapping[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
        """Send one request to DynamoDB Local on this thread's kept-alive connection."""
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request("POST", "/", body=body, headers=dict(headers))
                response = conn.getresponse()
                return response.status, response.getheaders(), response.read()
            except (http.client.HTTPException, OSError):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _call(self, operation: str, payload: dict[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
        """One request of the proxy's own (a schema, an item's size), signed as the client's was:
        DynamoDB Local keeps one database per access key and region, and checks no signature."""
        sent = {k: v for k, v in headers.items() if k.lower() in ("authorization", "x-amz-date")}
        sent |= {"X-Amz-Target": TARGET_PREFIX + operation, "Content-Type": "application/x-amz-json-1.0"}
        status, _, data = self.forward(json.dumps(payload).encode(), sent)
        out: dict[str, Any] = json.loads(data or b"{}")
        if status != 200:
            raise RuntimeError(f"{operation} through the proxy failed: {out}")
        return out

    def _key_names(self, table: str, headers: Mapping[str, str]) -> list[str]:
        names = self._schemas.get(table)
        if names is None:
            schema = self._call("DescribeTable", {"TableName": table}, headers)["Table"]["KeySchema"]
            names = [k["AttributeName"] for k in sorted(schema, key=lambda k: k["KeyType"])]  # HASH first
            self._schemas[table] = names
        return names

    def item_key(self, table: str, item: Mapping[str, Any], headers: Mapping[str, str]) -> ItemKey:
        """An item's identity: its table and the key attributes the table's key schema names."""
        names = self._key_names(table, headers)
        return table, json.dumps([item.get(name) for name in names], sort_keys=True)

    def _stored_sizes(self, keys: list[tuple[str, dict[str, Any]]], headers: Mapping[str, str]) -> list[int]:
        """The size of each item now stored at `keys` (0 when absent), read back after a write."""
        by_table: dict[str, list[dict[str, Any]]] = {}
        for table, key in keys:
            by_table.setdefault(table, []).append(key)
        found: dict[ItemKey, int] = {}
        for table, wanted in by_table.items():
            unique = list({json.dumps(k, sort_keys=True): k for k in wanted}.values())
            for start in range(0, len(unique), 100):
                request: dict[str, Any] = {
                    table: {"Keys": unique[start : start + 100], "ConsistentRead": True}
                }
                while request:
                    out = self._call("BatchGetItem", {"RequestItems": request}, headers)
                    for item in out.get("Responses", {}).get(table, []):
                        found[self.item_key(table, item, headers)] = item_size(item)
                    request = out.get("UnprocessedKeys") or {}
        return [found.get(self.item_key(table, key, headers), 0) for table, key in keys]

    # -- the rule ---------------------------------------------------------------------------

    def handle(
        self, operation: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        self._add(requests=1, **{f"op {operation}": 1})
        if operation == "TransactWriteItems":
            return self._transaction(json.loads(body), body, headers)
        if operation in SINGLE_WRITES:
            return self._single_write(operation, json.loads(body), body, headers)
        status, out_headers, data = self.forward(body, headers)
        if operation == "BatchWriteItem" and status == 200:
            self._count_batch_write(json.loads(body), json.loads(data), headers)
        return status, out_headers, data

    def _transaction(
        self, request: dict[str, Any], body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        actions = [next(iter(a.items())) for a in request.get("TransactItems", [])]
        keys = [
            self.item_key(spec["TableName"], spec["Item"] if kind == "Put" else spec["Key"], headers)
            for kind, spec in actions
        ]
        with self._lock:
            self._counts["transactions_attempted"] += 1
            held = [key in self._held for key in keys]
            if any(held):
                self._counts["transactions_conflicted"] += 1
            else:
                self._held.update(keys)
        if any(held):
            return _reply(*cancellation(held))
        try:
            began = time.perf_counter()
            status, out_headers, data = self.forward(body, headers)
            self._add(transaction_upstream_ms=round((time.perf_counter() - began) * 1000))
            if self.hold_seconds:
                time.sleep(self.hold_seconds)
        finally:
            with self._lock:
                self._held.difference_update(keys)
        if status == 200:
            written = [(kind, spec) for kind, spec in actions if kind in ("Put", "Update", "Delete")]
            sizes = self._sizes(written, headers)
            self._add(
                transactions_committed=1,
                items_written=len(written),
                write_units=sum(2 * write_units(size) for size in sizes),
            )
        elif b"ConditionalCheckFailed" in data:
            self._add(transactions_refused=1)
        else:
            self._add(transactions_failed=1)
        return status, out_headers, data

    def _sizes(self, written: list[tuple[str, dict[str, Any]]], headers: Mapping[str, str]) -> list[int]:
        """Each written item's size: a Put's as sent, an Update's as stored after it, a Delete's 0
        (billed as one unit, the least DynamoDB bills)."""
        updated = [(spec["TableName"], spec["Key"]) for kind, spec in written if kind == "Update"]
        stored = iter(self._stored_sizes(updated, headers) if updated else [])
        return [
            item_size(spec["Item"]) if kind == "Put" else next(stored) if kind == "Update" else 0
            for kind, spec in written
        ]

    def _single_write(
        self, operation: str, request: dict[str, Any], body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        table = request["TableName"]
        key = self.item_key(table, request["Item"] if operation == "PutItem" else request["Key"], headers)
        with self._lock:
            self._counts["single_writes"] += 1
            conflicted = key in self._held
            if conflicted:
                self._counts["single_writes_conflicted"] += 1
        if conflicted:
            return _reply(*_error("TransactionConflictException", "Transaction is ongoing for the item"))
        status, out_headers, data = self.forward(body, headers)
        if operation == "PutItem":
            size = item_size(request["Item"])
        elif operation == "UpdateItem":
            size = self._stored_sizes([(table, request["Key"])], headers)[0]
        else:
            size = 0
        if status == 200:
            self._add(items_written=1, write_units=write_units(size))
        elif b"ConditionalCheckFailed" in data:
            # DynamoDB bills a refused conditional write as if it had written the item.
            self._add(single_writes_refused=1, write_units_refused=write_units(size))
        return status, out_headers, data

    def _count_batch_write(
        self, request: dict[str, Any], response: dict[str, Any], headers: Mapping[str, str]
    ) -> None:
        unprocessed = {
            json.dumps(r, sort_keys=True)
            for rs in (response.get("UnprocessedItems") or {}).values()
            for r in rs
        }
        done = [
            r
            for rs in request.get("RequestItems", {}).values()
            for r in rs
            if json.dumps(r, sort_keys=True) not in unprocessed
        ]
        units = sum(write_units(item_size(r["PutRequest"]["Item"])) if "PutRequest" in r else 1 for r in done)
        self._add(batch_writes=1, items_written=len(done), write_units=units)

    # -- HTTP -------------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in (
                        "content-length",
                        "connection",
                        "transfer-encoding",
                        "server",
                        "date",
                    ):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path.rstrip("/") != COUNTS_PATH:
                    self._send(404, [], b"")
                    return
                self._send(200, [("Content-Type", "application/json")], json.dumps(proxy.counts()).encode())

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.rstrip("/") == COUNTS_PATH + "/reset":
                    proxy.reset()
                    self._send(200, [("Content-Type", "application/json")], b"{}")
                    return
                target = self.headers.get("X-Amz-Target", "")
                operation = target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else ""
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")
                }
                try:
                    status, out_headers, data = proxy.handle(operation, body, headers)
                except Exception as exc:  # the client sees a server error, as from DynamoDB
                    status, data = (
                        500,
                        json.dumps(
                            {"__type": _ERROR_PREFIX + "InternalServerError", "message": str(exc)}
                        ).encode(),
                    )
                    out_headers = [("Content-Type", "application/x-amz-json-1.0")]
                self._send(status, out_headers, data)

        return Handler


def _reply(status: int, data: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """A response of the proxy's own, with the checksum header botocore verifies for DynamoDB."""
    headers = [("Content-Type", "application/x-amz-json-1.0"), ("x-amz-crc32", str(zlib.crc32(data)))]
    return status, headers, data


def read_counts(endpoint: str) -> dict[str, int]:
    """A proxy's counters, read over HTTP (from a process other than the proxy's)."""
    import urllib.request

    with urllib.request.urlopen(endpoint + COUNTS_PATH, timeout=10) as response:  # noqa: S310 (loopback)
        out: dict[str, int] = json.loads(response.read())
    return out


def main(argv: list[str] | None = None) -> int:
    """`python -m infra.local.conflicts --upstream URL`: serve the proxy until Ctrl-C."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--upstream", required=True, help="DynamoDB Local's endpoint, e.g. http://127.0.0.1:8001"
    )
    parser.add_argument("--hold-ms", type=float, default=DEFAULT_HOLD_SECONDS * 1000)
    args = parser.parse_args(argv)
    proxy = ConflictProxy(args.upstream, hold_seconds=args.hold_ms / 1000).start()
    print(
        f"conflict proxy on {proxy.endpoint} → {args.upstream} (hold {args.hold_ms:.0f} ms); "
        f"counts at {proxy.endpoint}{COUNTS_PATH}",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        proxy.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
