"""boto3 clients, created once per process.

botocore reads AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_DYNAMODB) itself, so the same code
talks to AWS, moto, DynamoDB Local or LocalStack with no emulator branches.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_lock = threading.Lock()

# Standard retry mode backs off on throttling; a bounded budget keeps a click's latency sane.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, max_pool_connections=32)


@cache
def client(service: str) -> Any:
    """The process-wide client for `service` (thread-safe creation)."""
    with _lock:
        return boto3.session.Session().client(service, config=_CONFIG)


def reset_clients() -> None:
    """Forget clients (tests point the process at a fresh emulator)."""
    client.cache_clear()
