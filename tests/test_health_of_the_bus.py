"""A bus that does not answer shows on /healthz (200, degraded: the load balancer keeps the process,
which still serves every request) and on /metrics (dor_bus_up 0)."""

from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from eventlog.bus import MemoryBus


class SilentBus(MemoryBus):
    """A bus that gives no answer in time, as a hung Redis does."""

    async def ping(self) -> None:
        raise TimeoutError("no answer")


def bus_up(client: TestClient) -> float:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    samples = [s for f in text_string_to_metric_families(response.text) for s in f.samples]
    return next(s.value for s in samples if s.name == "dor_bus_up")


def test_healthz_is_200_but_degraded_when_the_bus_does_not_answer(client: TestClient) -> None:
    client.app.state.bus = SilentBus()  # type: ignore[attr-defined]
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "database": "ok", "bus": "unreachable"}


def test_metrics_show_whether_the_bus_answers(client: TestClient) -> None:
    assert bus_up(client) == 1
    client.app.state.bus = SilentBus()  # type: ignore[attr-defined]
    assert bus_up(client) == 0


def test_the_health_document_declares_the_parts(client: TestClient) -> None:
    healthz = client.get("/openapi.json").json()["paths"]["/healthz"]["get"]
    health = healthz["responses"]["200"]["content"]["application/json"]["schema"]
    assert {"status", "database", "bus"} <= set(health["properties"])
