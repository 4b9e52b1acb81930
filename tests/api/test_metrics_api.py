"""``GET /metrics``: the API's requests counted and timed by route template, for Prometheus."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.api import PETITIONS, V1, ApiClient, ApiFactory

PETITION_ROUTE = f"{PETITIONS}/{{petition_id}}"


async def samples(http: ApiClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The exposition as {(sample name, sorted labels): value}; scraped without signing in,
    as Prometheus does."""
    answer = await http.get("/metrics", headers={"Authorization": ""})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def labels(method: str, route: str, status: int) -> tuple[tuple[str, str], ...]:
    return tuple(sorted({"method": method, "route": route, "status": str(status)}.items()))


# The database makes no difference to a middleware: SQLite only.
@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
async def test_requests_are_counted_by_route_template_not_by_petition(api: ApiFactory) -> None:
    async with api() as http:
        assert (await http.get(f"{V1}/units")).status_code == 200
        for number in ("XF-2099-000001", "XF-2099-000002"):
            assert (await http.get(f"{PETITIONS}/{number}")).status_code == 404
        assert (await http.get("/no/such/page/XF-2099-000003")).status_code == 404
        scraped = await samples(http)
        text = (await http.get("/metrics")).text
        schema = (await http.get("/openapi.json")).json()

    units = labels("GET", f"{V1}/units", 200)
    assert scraped[("petitionflow_http_requests_total", units)] == 1
    assert scraped[("petitionflow_http_request_duration_seconds_count", units)] == 1
    # Two petitions, one series: the template is the label, the number is nowhere.
    assert scraped[("petitionflow_http_requests_total", labels("GET", PETITION_ROUTE, 404))] == 2
    assert scraped[("petitionflow_http_requests_total", labels("GET", "<unmatched>", 404))] == 1
    assert "XF-2099" not in text
    assert "/no/such" not in text
    assert "/metrics" not in schema["paths"]
