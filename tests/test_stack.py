"""Black box: ``python -m worker.stack`` (what ``make run`` runs), restarted mid-chain."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import subprocess
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.blackbox import Stack
from tests.helpers.county import PETITION
from tests.helpers.settings import binary
from tests.helpers.waiting import eventually


def lags(exposition: str) -> dict[str, float]:
    """The escalation-lag histogram's count by step kind."""
    return {
        sample.labels["kind"]: sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == "petitionflow_escalation_lag_seconds_count"
    }


def start_input(shown: str) -> bytes:
    """The start input's data in ``temporal workflow show -o json`` (the intake rides in it)."""
    try:
        started = json.loads(shown)["events"][0]["workflowExecutionStartedEventAttributes"]
    except (ValueError, KeyError, IndexError):
        return b""  # refused: nothing shown
    return base64.b64decode(started["input"]["payloads"][0]["data"])


async def histories_are_read_through_the_api_only(stack: Stack, pid: str) -> None:
    """Issue 10: the dev server's UI decodes through the API's codec endpoint; the real CLI
    reads a history in clear with an auditor's token only, and cannot forge an action."""
    ui = f"http://127.0.0.1:{stack.env['PETITIONFLOW_TEMPORAL_UI_PORT']}"
    codec = f"{stack.url}/codec"
    async with httpx.AsyncClient(timeout=30) as plain:
        settings = (await plain.get(f"{ui}/api/v1/settings")).json()
        assert settings["Codec"]["Endpoint"] == codec
        preflight = await plain.options(
            f"{codec}/decode", headers={"Origin": ui, "Access-Control-Request-Method": "POST"}
        )
        assert preflight.headers["access-control-allow-origin"] == ui

    async def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [binary("temporal"), "workflow", *args, "--workflow-id", pid, "-o", "json"]
        address = ["--address", f"127.0.0.1:{stack.temporal_port}"]
        return await asyncio.to_thread(
            subprocess.run, command + address, capture_output=True, text=True, timeout=60
        )

    phone = PETITION["petitioner"]["phone"].encode()
    auditor = (await stack.headers("audit-01"))["Authorization"]
    clear = await cli("show", "--codec-endpoint", codec, "--codec-auth", auditor)
    assert clear.returncode == 0, clear.stderr
    assert phone in start_input(clear.stdout)
    handler = (await stack.headers("dongguan-h1"))["Authorization"]
    for codec_flags in (
        [],  # no codec: ciphertext
        ["--codec-endpoint", codec],  # not signed in: 401
        ["--codec-endpoint", codec, "--codec-auth", handler],  # not the bureau or audit: 403
        ["--codec-endpoint", codec, "--codec-auth", "Bearer forged"],
    ):
        hidden = await cli("show", *codec_flags)
        assert phone not in start_input(hidden.stdout), codec_flags
    forged = await cli(
        "update", "execute", "--name", "complete", "--input", json.dumps({"reply": "伪造"})
    )
    assert forged.returncode != 0, forged.stdout
    # Not applied (the exit code alone would not say: the CLI cannot print an encrypted answer).
    async with await stack.client("audit-01") as http:
        petition = (await http.get(f"/petitions/{pid}")).json()
    assert petition["stage"] not in ("replied", "closed") and petition["reply"] is None, petition


async def test_make_run_stack_survives_a_restart_mid_chain(stack: Stack) -> None:
    stack.start()
    await stack.wait_up()
    text = stack.log.read_text(encoding="utf-8")
    assert f"http://127.0.0.1:{stack.api_port}/docs" in text
    assert "Temporal UI" in text
    async with await stack.client() as http:
        created = await http.post("/petitions", json=PETITION)
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        assert (await http.post(f"/petitions/{pid}/accept")).status_code == 200

        async def state() -> dict[str, Any]:
            result: dict[str, Any] = (await http.get(f"/petitions/{pid}")).json()
            return result

        await eventually(state, lambda s: s["level"] == 2, timeout=30)

    # What an operator scrapes (README, "Metrics"): the worker's escalation lag, measured on a
    # real clock here, and the API's requests by route template.
    assert f"http://{stack.worker_metrics}/metrics" in text
    async with httpx.AsyncClient(timeout=30) as plain:

        async def worker_metrics() -> str:
            return (await plain.get(f"http://{stack.worker_metrics}/metrics")).text

        # Observed just after the notice row is written, which the read above may precede.
        worker = await eventually(
            worker_metrics, lambda got: {"reminder", "supervision"} <= lags(got).keys()
        )
        api = (await plain.get(f"http://127.0.0.1:{stack.api_port}/metrics")).text
    assert "temporal_workflow_task_execution_latency" in worker
    assert 'route="/api/v1/petitions/{petition_id}/accept"' in api
    assert pid not in api
    await histories_are_read_through_the_api_only(stack, pid)

    assert stack.stop() == 0
    text = stack.log.read_text(encoding="utf-8")
    assert "stopping petitionflow" in text
    for port in (stack.api_port, stack.temporal_port):
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still open"

    stack.start()
    await stack.wait_up()
    async with await stack.client() as http:

        async def state_after() -> dict[str, Any]:
            result: dict[str, Any] = (await http.get(f"/petitions/{pid}")).json()
            return result

        final = await eventually(state_after, lambda s: s["level"] == 4, timeout=60)
        supervision = [e["level"] for e in final["timeline"] if e["kind"] == "supervision"]
        assert supervision == [2, 3, 4]
        slips = (await http.get(f"/petitions/{pid}/notices")).json()
        keys = [n["key"] for n in slips]
        assert len(keys) == len(set(keys))
        assert keys[:4] == [
            "assignment",
            "petitioner-acceptance-handling",
            "reminder-before-escalation-L2",
            "escalation-L2",
        ]
        listing = (await http.get("/petitions")).json()
        assert [p["id"] for p in listing["items"]] == [pid]
    assert stack.stop() == 0
