"""Fixes for the embedded emulator (moto 5.2.5), applied wherever we start it.

The product code never sees these: it only ever talks to `AWS_ENDPOINT_URL`. Each fix makes
moto behave as DynamoDB does (or as cheaply as a laptop needs), and each has a test in
tests/unit/test_moto_fixes.py that fails on an unpatched moto.

- **One DynamoDB request at a time.** moto's server answers each request on its own thread and its
  backends have no locks: the stream numbers a record `len(records) + start` before appending
  it, so two concurrent writes could share a sequence number and a checkpointed reader would
  skip one; two UpdateItems on one item could interleave their read-modify-write. DynamoDB
  makes every single-item write atomic and its stream gap-free: the server's dispatch and the
  stream's numbering are serialised here (moto is bound by the GIL anyway, so little is lost).
- **Transactions undo only what they touched.** moto deep-copies every table a
  TransactWriteItems names before running it, so each transaction costs O(table) and a hot
  survey's aggregation grows quadratically. Here conditions are checked first (nothing written
  if one fails, as in DynamoDB), then the actions run with an undo log of just their own items
  and stream records.
- **Queries read one partition.** moto's Query on a table (not an index) sorts the whole
  table to find one partition key's items; here it reads that partition only.
- **Shard iterators are bounded.** moto keeps every iterator it ever handed out (each poll
  makes two), so a long-running poller grows without bound; the newest ones are kept.
- **The data dump can be narrowed.** `/moto-api/data.json` serialises every object moto tracks,
  every DynamoDB item included, so reading the sent emails from it grew with the tables (seconds
  once a session had written a few thousand items). Here `?service=ses&model=RawMessage` dumps
  just those; without the parameters it answers as before.
- **A change signal.** `wait_for_stream_change` lets a poller in the same process sleep until a
  stream gets a record, instead of asking the emulator several times a second.
"""

from __future__ import annotations

import copy
import itertools
import threading
from typing import Any

_lock = threading.RLock()  # every DynamoDB mutation and every server request, one at a time
_changed = threading.Condition(threading.Lock())
_generation = 0  # grows with every stream record, under _changed
_local = threading.local()
MAX_SHARD_ITERATORS = 10_000


def stream_generation() -> int:
    """A number that grows whenever any table's stream gets a record (in this process)."""
    return _generation


def wait_for_stream_change(since: int, timeout: float) -> int:
    """Sleep until a stream record newer than generation `since` exists (or `timeout` passes)."""
    with _changed:
        _changed.wait_for(lambda: _generation != since, timeout)
        return _generation


def _notify() -> None:
    global _generation
    with _changed:
        _generation += 1
        _changed.notify_all()


def _serialise_server() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.__call__

    def __call__(self: Any, environ: Any, start_response: Any) -> Any:
        # DynamoDB (and its streams) only: other services may block on purpose (SQS long polls).
        if not str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith("DynamoDB"):
            return original(self, environ, start_response)
        with _lock:
            # The body is read inside the lock too: werkzeug answers lazily otherwise.
            return list(original(self, environ, start_response))

    DomainDispatcherApplication.__call__ = __call__  # type: ignore[method-assign]


def _number_stream_records_atomically() -> None:
    from moto.dynamodb.models.table import StreamShard

    original = StreamShard.add

    def add(self: Any, old: Any, new: Any) -> None:
        with _lock:
            original(self, old, new)
        _notify()

    StreamShard.add = add  # type: ignore[method-assign]


def _key_of(table: Any, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type == "Put":
        attrs = op["Item"]
        key = {table.hash_key_attr: attrs[table.hash_key_attr]}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = attrs[table.range_key_attr]
        return key
    return dict(op["Key"])


def _install_transactions() -> None:
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        with _lock:
            if len(transact_items) > 100:
                raise TooManyTransactionsException()
            targets: set[tuple[str, str]] = set()
            planned: list[tuple[str, dict[str, Any], Any, dict[str, Any]]] = []
            errors: list[Any] = []
            # 1. Check: every key once, every condition against the state before any write.
            for item in transact_items:
                if len(item) > 1:
                    raise TransactWriteSingleOpException
                op_type, op = next(iter(item.items()))
                original_item = None
                try:
                    if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                        raise ValueError("Unsupported transaction operation")
                    table = self.get_table(op["TableName"])
                    key = _key_of(table, op_type, op)
                    unique = (str(op["TableName"]), str(dict(sorted(key.items()))))
                    if unique in targets:
                        raise MultipleTransactionsException()
                    targets.add(unique)
                    current = self.get_item(op["TableName"], key)
                    condition = op.get("ConditionExpression")
                    if condition is not None:
                        check = get_filter_expression(
                            condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
                        )
                        if not check.expr(current):
                            if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                                original_item = current.to_json()["Attributes"]
                            raise ConditionalCheckFailed(item=original_item)
                    planned.append((op_type, op, table, key))
                    errors.append((None, None, None))
                except (MultipleTransactionsException, MockValidationException):
                    raise
                except ConditionalCheckFailed as e:
                    errors.append(("ConditionalCheckFailed", str(e.message), original_item))
                except Exception as e:
                    errors.append((type(e).__name__, str(e), original_item))
            if any(code is not None for code, _, _ in errors):
                raise TransactionCanceledException(errors)
            # 2. Write, with an undo log of the items and stream records this call touches.
            undo: list[tuple[Any, Any, Any, Any]] = []
            streams = {
                id(table): (table.stream_shard, len(table.stream_shard.items))
                for _, _, table, _ in planned
                if table.stream_shard is not None
            }
            try:
                for op_type, op, table, key in planned:
                    if op_type == "ConditionCheck":
                        continue
                    hash_value = DynamoType(key[table.hash_key_attr])
                    range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
                    before = table.get_item(hash_value, range_value)
                    undo.append((table, hash_value, range_value, copy.deepcopy(before)))
                    names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
                    if op_type == "Put":
                        self.put_item(
                            op["TableName"],
                            op["Item"],
                            expression_attribute_names=names,
                            expression_attribute_values=values,
                        )
                    elif op_type == "Delete":
                        self.delete_item(
                            op["TableName"],
                            key,
                            expression_attribute_names=names,
                            expression_attribute_values=values,
                        )
                    else:
                        self.update_item(
                            op["TableName"],
                            key,
                            update_expression=op["UpdateExpression"],
                            condition_expression=None,
                            expression_attribute_names=names,
                            expression_attribute_values=values,
                        )
            except Exception:
                for table, hash_value, range_value, before in reversed(undo):
                    _restore(table, hash_value, range_value, before)
                for shard, length in streams.values():
                    del shard.items[length:]
                raise

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _restore(table: Any, hash_value: Any, range_value: Any, before: Any) -> None:
    if range_value is not None:
        partition = table.items[hash_value]
        if before is None:
            partition.pop(range_value, None)
            if not partition:
                table.items.pop(hash_value, None)
        else:
            partition[range_value] = before
    elif before is None:
        table.items.pop(hash_value, None)
    else:
        table.items[hash_value] = before


def _query_one_partition() -> None:
    from moto.dynamodb.models.table import Table

    original_query = Table.query
    original_all_items = Table.all_items

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name or hash_key is None:
            return original_query(self, hash_key, *args, **kwargs)
        _local.partition = (self, hash_key)
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            _local.partition = None

    def all_items(self: Any) -> list[Any]:
        only = getattr(_local, "partition", None)
        if only is None or only[0] is not self:
            return original_all_items(self)
        _local.partition = None  # once: the query's own scan for its partition
        found = self.items.get(only[1])
        if found is None:
            return []
        if self.range_key_attr:
            return sorted(found.values(), key=lambda item: item.range_key)
        return [found]

    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]


def _bound_shard_iterators() -> None:
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    def pruned(method: Any) -> Any:
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            out = method(self, *args, **kwargs)
            held = self.shard_iterators  # insertion-ordered: the oldest first
            for key in list(itertools.islice(held, max(0, len(held) - MAX_SHARD_ITERATORS))):
                del held[key]
            return out

        return wrapper

    DynamoDBStreamsBackend.get_shard_iterator = pruned(DynamoDBStreamsBackend.get_shard_iterator)  # type: ignore[method-assign]
    DynamoDBStreamsBackend.get_records = pruned(DynamoDBStreamsBackend.get_records)  # type: ignore[method-assign]


def _scoped_model_data() -> None:
    import json
    from urllib.parse import parse_qs, urlsplit

    from moto.core.model_instances import model_data
    from moto.moto_api._internal.responses import MotoAPIResponse

    original = MotoAPIResponse.model_data

    def scoped(self: Any, request: Any, full_url: str, headers: Any) -> Any:
        query = parse_qs(urlsplit(full_url).query)
        services, names = query.get("service"), query.get("model")
        if not services:
            return original(self, request, full_url, headers)
        results: dict[str, dict[str, list[Any]]] = {}
        for service in sorted(set(services) & set(model_data)):
            models = model_data[service]
            results[service] = {}
            for name in sorted(models):
                if names and name not in names:
                    continue
                found = results[service][name] = []
                for instance in list(models[name].instances_tracked):  # type: ignore[attr-defined]
                    shown = {}
                    for attr in dir(instance):
                        if attr.startswith("_"):
                            continue
                        try:
                            value = getattr(instance, attr)
                            json.dumps(value)
                        except (TypeError, AttributeError, ValueError):
                            continue
                        shown[attr] = value
                    found.append(shown)
        return 200, {"Content-Type": "application/javascript"}, json.dumps(results)

    MotoAPIResponse.model_data = scoped  # type: ignore[method-assign]


def apply() -> None:
    """Install the fixes (idempotent)."""
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "_hark_fixed", False):
        return
    _serialise_server()
    _number_stream_records_atomically()
    _install_transactions()
    _query_one_partition()
    _bound_shard_iterators()
    _scoped_model_data()
    DynamoDBBackend._hark_fixed = True  # type: ignore[attr-defined]
