"""Structured logs, metrics and trace ids (Powertools), configured per stage by chalice.json.

Settings come from the environment each stage sets: POWERTOOLS_SERVICE_NAME,
POWERTOOLS_LOG_LEVEL, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_METRICS_DISABLED (the dev stage
turns metrics off and logs warnings only); tracing is Lambda's and API Gateway's active X-Ray
tracing, switched on per stage by chalice.json's "xray" (Powertools adds the trace id to logs).

Powertools is imported on first use, not when the handler module is imported, so the API's
cold import stays close to a bare Chalice app's (docs/benchmarks.md, Targets).

What is logged is chosen, never dumped: route templates (never paths, which carry link
tokens), status codes, durations, counts and ids. No request bodies, headers, query strings,
item images, e-mail addresses, phone numbers, tokens or keys.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from functions.lazy import lazy

if TYPE_CHECKING:
    import aws_lambda_powertools as powertools
    from aws_lambda_powertools import metrics as powertools_metrics
else:  # on first use, not when a handler module is imported (see above)
    powertools, powertools_metrics = lazy("aws_lambda_powertools"), lazy("aws_lambda_powertools.metrics")

# Metric names (namespace POWERTOOLS_METRICS_NAMESPACE, dimensions service and stage).
ANSWERS_RECORDED = "AnswersRecorded"
DETRACTORS = "Detractors"
SCANNER_HITS = "ScannerHits"
AGGREGATOR_LAG = "AggregatorLag"


@cache
def logger() -> Any:
    """The process's Powertools Logger (JSON lines with service, level, correlation id…)."""
    log = powertools.Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "hark"))
    log.append_keys(stage=os.environ.get("HARK_STAGE"))
    return log


@cache
def metrics() -> Any:
    """The process's Powertools Metrics (CloudWatch embedded metric format on stdout)."""
    found = powertools.Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Hark"))
    found.set_default_dimensions(stage=os.environ.get("HARK_STAGE", "unknown"))
    return found


def count(name: str, value: int = 1) -> None:
    """Add `value` to the count metric `name` (published when the invocation ends)."""
    metrics().add_metric(name=name, unit=powertools_metrics.MetricUnit.Count, value=value)


def milliseconds(name: str, value: float) -> None:
    metrics().add_metric(name=name, unit=powertools_metrics.MetricUnit.Milliseconds, value=value)


def flush() -> None:
    """Publish the metrics gathered during this invocation (nothing when there are none)."""
    found = metrics()
    if found.metric_set:
        found.flush_metrics()
        found.clear_metrics()  # flush_metrics keeps them when metrics are off (dev stage)


def observe_request(request: Any, get_response: Callable[[Any], Any]) -> Any:
    """Chalice HTTP middleware: a correlation id, one log line per request, metrics flushed."""
    log = logger()
    context = request.context or {}
    log.set_correlation_id(context.get("requestId") or uuid.uuid4().hex)
    route = context.get("resourcePath")
    started = time.perf_counter()
    try:
        response = get_response(request)
    except Exception:
        log.exception("request failed", extra={"method": request.method, "route": route})
        raise
    finally:
        flush()
    log.info(
        "request",
        extra={
            "method": request.method,
            "route": route,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return response


def oldest_record_age_ms(records: Iterable[Mapping[str, Any]], now: float | None = None) -> float | None:
    """How far behind the stream this batch is: the age of its oldest record, in ms."""
    created = [
        float(r["dynamodb"]["ApproximateCreationDateTime"])
        for r in records
        if r.get("dynamodb", {}).get("ApproximateCreationDateTime") is not None
    ]
    if not created:
        return None
    return max(0.0, ((now if now is not None else time.time()) - min(created)) * 1000)
