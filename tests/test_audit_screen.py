"""The audit screen's API: a centre's event log searched by local day, ticket, staff member and kind,
newest first and a page at a time; its chain verified; the same entries as CSV. For the centre's
supervisors and admins only."""

from __future__ import annotations

import csv

import pytest
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.testclient import TestClient

from config.db import Database
from tests.conftest import VirtualClock, sign_in
from tests.test_audit import busy_morning

AUDIT = "/api/v1/centres/DAM-01/audit"
DAM_01 = "(SELECT id FROM centre WHERE code = 'DAM-01')"


def entries(client: TestClient, query: str = "") -> list[dict]:  # type: ignore[type-arg]
    response = client.get(f"{AUDIT}?{query}")
    assert response.status_code == 200, response.text
    return response.json()["entries"]  # type: ignore[no-any-return]


def test_the_log_reads_newest_first_with_its_ticket_counter_and_actor(
    client: TestClient, agent: TestClient, app: Starlette
) -> None:
    busy_morning(client, agent)
    found = entries(sign_in(app, "supervisor1"))
    seqs = [e["seq"] for e in found]
    assert seqs == sorted(seqs, reverse=True) and seqs[-1] == 1
    newest = found[0]
    assert (newest["kind"], newest["ticket"], newest["counter"], newest["actor"]) == (
        "transferred",
        "A-004",
        1,
        "staff:agent1",
    )
    assert newest["data"]["origin"] == "CR" and newest["at"].startswith("2026-11-29T06:00")
    oldest = found[-1]
    assert oldest["kind"] == "issued" and oldest["ticket"] == "A-001" and oldest["counter"] is None
    assert oldest["actor"].startswith("device:")


def test_filters_by_kind_ticket_and_staff_member(
    client: TestClient, agent: TestClient, app: Starlette
) -> None:
    busy_morning(client, agent)
    supervisor = sign_in(app, "supervisor1")
    assert [e["ticket"] for e in entries(supervisor, "kind=called")] == ["A-004", "A-003", "A-002", "A-001"]
    # A ticket number as a person types it: small letter, no dash, Arabic-Indic digits.
    for typed in ("A-002", "a2", "A-٠٠٢"):
        kinds = [e["kind"] for e in entries(supervisor, f"ticket={typed}")]
        assert kinds == ["finished", "started", "called", "issued"], typed
    by_agent = entries(supervisor, "staff=agent1")
    assert by_agent and {e["actor"] for e in by_agent} == {"staff:agent1"}
    assert len(by_agent) == len(entries(supervisor)) - 4  # all but the four tickets issued
    assert entries(supervisor, "staff=agent1&kind=started&ticket=A-003")[0]["kind"] == "started"
    assert entries(supervisor, "staff=supervisor1") == []


def test_a_day_is_the_centre_s_local_day(client: TestClient, app: Starlette, clock: VirtualClock) -> None:
    intake = "/api/v1/centres/DAM-01/services/CR/intake"
    clock.advance(14 * 3600 + 1800)  # 23:30 in Damascus, 20:30 UTC
    assert sign_in(app, "supervisor1").post(intake, json={"open": False}).status_code == 200
    clock.advance(3600)  # 00:30 on the 30th in Damascus, still the 29th in UTC: intake is open again
    supervisor = sign_in(app, "supervisor1")
    assert supervisor.post(intake, json={"open": False}).status_code == 200
    assert [e["seq"] for e in entries(supervisor, "day=2026-11-29")] == [1]
    assert [e["seq"] for e in entries(supervisor, "day=2026-11-30")] == [2]
    assert entries(supervisor, "day=2026-11-28") == []


def test_pages_follow_each_other_by_seq_without_a_gap(
    client: TestClient, agent: TestClient, app: Starlette
) -> None:
    busy_morning(client, agent)
    supervisor = sign_in(app, "supervisor1")
    everything = [e["seq"] for e in entries(supervisor)]
    read, after = [], ""
    while True:
        page = supervisor.get(f"{AUDIT}?limit=5{after}").json()
        assert len(page["entries"]) <= 5
        read += [e["seq"] for e in page["entries"]]
        if page["next_after_seq"] is None:
            break
        assert page["next_after_seq"] == page["entries"][-1]["seq"]
        after = f"&after_seq={page['next_after_seq']}"
    assert read == everything and len(everything) > 5
    assert supervisor.get(f"{AUDIT}?limit={len(everything)}").json()["next_after_seq"] is None


@pytest.mark.parametrize(
    ("backend", "query", "field"),
    [
        # Refused before any query, the same on either database: SQLite only.
        *(
            ("sqlite", query, field)
            for query, field in [
                ("day=2026-13-01", "day"),
                ("day=1066-10-14", "day"),
                ("ticket=zz-12", "ticket"),
                ("ticket=" + "A" * 17, "ticket"),
                ("kind=dancing", "kind"),
                ("after_seq=0", "after_seq"),
                ("after_seq=x", "after_seq"),
                ("limit=0", "limit"),
                ("limit=501", "limit"),
                ("centre=DAM-02", "centre"),
            ]
        ),
        ("sqlite", "staff=nobody", "staff"),
        ("postgresql", "staff=nobody", "staff"),  # refused once the staff list is read
    ],
)
def test_a_filter_that_is_not_one_is_refused_naming_it(
    client: TestClient, app: Starlette, query: str, field: str
) -> None:
    response = sign_in(app, "supervisor1").get(f"{AUDIT}?{query}", headers={"Accept-Language": "en"})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_input", field)
    assert f"'{field}'" in error["message"]


def test_refusals_are_in_the_reader_s_language(client: TestClient, app: Starlette) -> None:
    supervisor = sign_in(app, "supervisor1")
    ticket = supervisor.get(f"{AUDIT}?ticket=zz").json()["error"]
    assert ticket["field"] == "ticket" and ticket["message"].startswith("معامل الاستعلام 'ticket'")
    staff = supervisor.get(f"{AUDIT}?staff=nobody").json()["error"]
    assert staff["message"] == "معامل الاستعلام 'staff': لا يوجد موظف باسم المستخدم nobody"


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 401), ("agent1", 403), ("supervisor2", 403), ("supervisor1", 200), ("admin", 200)],
)
@pytest.mark.parametrize(
    ("method", "path"), [("GET", AUDIT), ("GET", f"{AUDIT}.csv"), ("POST", f"{AUDIT}/verify")]
)
def test_only_the_centre_s_supervisors_and_admins_read_its_log(
    client: TestClient, app: Starlette, who: str | None, status: int, method: str, path: str
) -> None:
    caller = sign_in(app, who) if who else client
    assert caller.request(method, path).status_code == status


def test_verification_says_ok_then_names_a_tampered_entry(
    client: TestClient, agent: TestClient, app: Starlette, database: Database
) -> None:
    busy_morning(client, agent)
    supervisor = sign_in(app, "supervisor1")
    verdict = supervisor.post(f"{AUDIT}/verify").json()
    assert verdict["ok"] is True and verdict["broken"] is None
    assert verdict["entries"] == len(entries(supervisor))
    with database.engine.begin() as connection:  # someone puts a supervisor's name on an agent's call
        connection.execute(
            text(f"UPDATE event SET actor = 'staff:supervisor1' WHERE seq = 5 AND centre_id = {DAM_01}")
        )
    verdict = supervisor.post(f"{AUDIT}/verify", headers={"Accept-Language": "en"}).json()
    assert verdict["ok"] is False
    assert verdict["broken"] == {
        "seq": 5,
        "reason": "entry 5 was changed, or entries were moved (its hash does not match)",
    }
    arabic = supervisor.post(f"{AUDIT}/verify").json()["broken"]
    assert arabic == {"seq": 5, "reason": "القيد 5 تغيّر، أو نُقلت قيود من مواضعها (بصمته لا تطابق)"}
    # Another centre's chain is its own.
    assert supervisor.post("/api/v1/centres/DAM-02/audit/verify").json()["ok"] is True


def test_a_missing_entry_is_named(
    client: TestClient, agent: TestClient, app: Starlette, database: Database
) -> None:
    busy_morning(client, agent)
    with database.engine.begin() as connection:
        connection.execute(text(f"DELETE FROM event WHERE seq = 3 AND centre_id = {DAM_01}"))
    verdict = sign_in(app, "supervisor1").post(f"{AUDIT}/verify", headers={"Accept-Language": "en"}).json()
    assert verdict["broken"] == {"seq": 3, "reason": "entry 3 is missing (the next one found is 4)"}


def test_the_csv_holds_the_same_entries_in_local_time_with_the_kinds_named(
    client: TestClient, agent: TestClient, app: Starlette
) -> None:
    busy_morning(client, agent)
    supervisor = sign_in(app, "supervisor1")
    response = supervisor.get(f"{AUDIT}.csv?kind=called&day=2026-11-29&lang=ar")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="DAM-01-audit-2026-11-29.csv"'
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(response.content.decode("utf-8-sig").splitlines()))
    assert list(rows[0]) == ["seq", "time", "kind", "kind_name", "actor", "ticket", "counter", "data"]
    assert [r["ticket"] for r in rows] == ["A-004", "A-003", "A-002", "A-001"]
    assert {r["kind_name"] for r in rows} == {"تم النداء"}
    assert rows[0]["time"] == "2026-11-29 09:00:00" and rows[0]["counter"] == "1"
    assert rows[-1]["data"].startswith("counter=1;number=A-001;service=CR;waited_s=")
    english = supervisor.get(f"{AUDIT}.csv?kind=called&lang=en").content.decode("utf-8-sig")
    assert "Called" in english


def test_a_csv_with_nothing_in_it_still_has_its_header(client: TestClient, app: Starlette) -> None:
    response = sign_in(app, "supervisor1").get(f"{AUDIT}.csv?day=2026-11-28")
    assert response.content.decode("utf-8-sig").strip() == "seq,time,kind,kind_name,actor,ticket,counter,data"


def test_the_page_is_the_supervisor_s_and_names_the_kinds(client: TestClient, app: Starlette) -> None:
    page = sign_in(app, "supervisor1").get("/supervisor/audit?centre=DAM-02&lang=en")
    assert page.status_code == 200
    assert 'data-centre="DAM-02"' in page.text and "Verify the chain" in page.text
    assert 'value="no_show" >Did not come</option>' in page.text
    assert sign_in(app, "agent1").get("/supervisor/audit", follow_redirects=False).status_code == 303
