"""The API's numbers for Prometheus: every request counted and timed by method, route template
and status, served at ``GET /metrics``.

The route is the template (``/api/v1/petitions/{petition_id}``), never the path: a petition
number as a label value would make a time series per petition. ``/metrics`` asks for no sign-in,
as Prometheus scrapes without one, and stays out of the OpenAPI schema; what it shows (routes,
counts, latencies) names no person and no petition, and a deployment serves it on its internal
network only (README, "Metrics")."""

from __future__ import annotations

import time

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = "petitionflow_http_requests"
DURATION = "petitionflow_http_request_duration_seconds"
LABELS = ("method", "route", "status")
# Requests no route matched (scanners, typos): one series for all of them, whatever the path.
UNMATCHED = "<unmatched>"
# A client may send any method: the ones the API serves keep their name, the rest are one.
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
# The aim is answers in well under a second; beyond, the buckets tell how slow.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class RequestMetrics:
    """Pure ASGI (as the audit middleware): outermost, so the time is what the client waits,
    the audit row included, and a request that fails inside still counts, as a 500."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter(REQUESTS, "HTTP requests answered", LABELS, registry=registry)
        self.duration = Histogram(
            DURATION, "Time to answer an HTTP request", LABELS, registry=registry, buckets=BUCKETS
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees if the app raises before answering

        async def timed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            labels = (_method(scope), _route(scope), str(status))
            self.requests.labels(*labels).inc()
            self.duration.labels(*labels).observe(time.perf_counter() - started)


def _method(scope: Scope) -> str:
    method = str(scope.get("method", ""))
    return method if method in METHODS else "OTHER"


def _route(scope: Scope) -> str:
    """The template of the route the router matched: the path with each path parameter's value
    put back as its name. (The route object the router leaves in the scope knows only its own
    part of the template, without the prefix of the router that includes it.)"""
    if scope.get("route") is None:
        return UNMATCHED
    names = {str(value): f"{{{name}}}" for name, value in scope.get("path_params", {}).items()}
    return "/".join(names.get(part, part) for part in str(scope["path"]).split("/"))


def install(app: FastAPI) -> None:
    """Count the app's requests and serve them at ``/metrics``. The registry is the app's own:
    two apps in one process (the tests) do not add up each other's requests."""
    registry = CollectorRegistry()
    app.add_middleware(RequestMetrics, registry=registry)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
