"""Feedback after service: a served ticket's holder rates it once, 1 to 5, with an optional comment;
reports read the answers per service, counter and agent; the open figures show a centre's mean."""

import threading
from datetime import timedelta

import pytest
from sqlmodel import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from booking.upkeep import erase_personal_data
from config.db import Database
from eventlog.models import Event
from organisation.models import Counter, Staff
from queueing.models import Feedback
from sms_gateway.models import SmsMessage
from tests.conftest import VirtualClock, sign_in, take_remote_ticket, take_ticket


def serve(agent: TestClient, client: TestClient, *, counter: int = 1) -> dict:  # type: ignore[type-arg]
    """A new CR ticket, called, served and finished at `counter` by the signed-in agent."""
    ticket = take_ticket(client)
    base = f"/api/v1/centres/DAM-01/counters/{counter}"
    agent.post(f"{base}/open")
    for action in ("next", "start", "finish"):
        assert agent.post(f"{base}/{action}").status_code == 200
    return ticket


def rate(client: TestClient, token: str, body: object, language: str = "en") -> tuple[int, dict]:  # type: ignore[type-arg]
    response = client.post(
        f"/api/v1/tickets/{token}/feedback", json=body, headers={"Accept-Language": language}
    )
    return response.status_code, response.json()


def test_a_served_ticket_is_rated_once_and_its_view_says_so(
    client: TestClient, agent: TestClient, database: Database
) -> None:
    ticket = serve(agent, client)
    view = client.get(f"/api/v1/tickets/{ticket['token']}").json()
    assert (view["status"], view["feedback_given"]) == ("done", False)
    status, body = rate(client, ticket["token"], {"rating": 4, "comment": "  Quick and polite.  "})
    assert status == 201, body
    assert (body["status"], body["feedback_given"]) == ("done", True)
    assert client.get(f"/api/v1/tickets/{ticket['token']}").json()["feedback_given"] is True
    with database.read() as session:
        answer = session.exec(select(Feedback)).one()
        # Who served it, from the log: counter 1 of DAM-01, agent1.
        counter = session.get(Counter, answer.counter_id)
        staff = session.get(Staff, answer.agent_id)
    assert (answer.rating, answer.comment) == (4, "Quick and polite.")
    assert counter is not None and counter.number == 1
    assert staff is not None and staff.username == "agent1"


def test_a_second_answer_is_refused_in_the_readers_language(client: TestClient, agent: TestClient) -> None:
    ticket = serve(agent, client)
    assert rate(client, ticket["token"], {"rating": 5})[0] == 201
    status, body = rate(client, ticket["token"], {"rating": 1, "comment": "changed my mind"}, language="ar")
    assert status == 409
    assert body["error"]["code"] == "feedback_given"
    assert "قُيّمت" in body["error"]["message"] and ticket["number"] in body["error"]["message"]


def test_only_a_served_ticket_can_be_rated(
    client: TestClient, agent: TestClient, clock: VirtualClock
) -> None:
    waiting = take_ticket(client)
    status, body = rate(client, waiting["token"], {"rating": 3})
    assert (status, body["error"]["code"]) == (409, "ticket_not_served")
    assert body["error"]["message"] == f"ticket {waiting['number']} has not been served"
    agent.post("/api/v1/centres/DAM-01/counters/1/open")
    agent.post("/api/v1/centres/DAM-01/counters/1/next")
    assert rate(client, waiting["token"], {"rating": 3})[0] == 409  # called, not served
    left = take_ticket(client)
    assert client.delete(f"/api/v1/tickets/{left['token']}").status_code == 200
    assert rate(client, left["token"], {"rating": 3})[0] == 409  # cancelled
    assert rate(client, "no-such-token", {"rating": 3})[0] == 404


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "rating", "field 'rating': required"),
        ({"rating": 0}, "rating", "field 'rating': must be at least 1"),
        ({"rating": 6}, "rating", "field 'rating': must be at most 5"),
        ({"rating": "5"}, "rating", "field 'rating': must be a whole number"),
        ({"rating": 4.5}, "rating", "field 'rating': must be a whole number"),
        ({"rating": 5, "comment": "x" * 281}, "comment", "field 'comment': must have at most 280 characters"),
        ({"rating": 5, "comment": 7}, "comment", "field 'comment': must be a text"),
        ({"rating": 5, "name": "Ali"}, "name", "field 'name': is not a field of this request"),
    ],
)
@pytest.mark.parametrize("backend", ["sqlite"])  # refused by the body's schema before any query
def test_bad_answers_say_what_is_wrong(
    client: TestClient,
    agent: TestClient,
    body: dict,
    field: str,
    message: str,  # type: ignore[type-arg]
) -> None:
    ticket = serve(agent, client)
    status, refused = rate(client, ticket["token"], body)
    assert status == 422
    assert refused["error"] == {"code": "invalid_input", "message": message, "field": field}
    assert client.get(f"/api/v1/tickets/{ticket['token']}").json()["feedback_given"] is False


def test_bad_answers_are_refused_in_arabic_too(client: TestClient, agent: TestClient) -> None:
    ticket = serve(agent, client)
    status, refused = rate(client, ticket["token"], {"rating": 9}, language="ar")
    assert status == 422 and refused["error"]["field"] == "rating"
    assert "rating" in refused["error"]["message"] and "5" in refused["error"]["message"]
    assert "يجب" in refused["error"]["message"]


def test_a_comment_of_280_characters_once_trimmed_is_kept_and_a_blank_one_is_none(
    client: TestClient, agent: TestClient, database: Database
) -> None:
    long, blank = serve(agent, client), serve(agent, client)
    assert rate(client, long["token"], {"rating": 2, "comment": "  " + "ق" * 280 + "\n"})[0] == 201
    assert rate(client, blank["token"], {"rating": 3, "comment": "   "})[0] == 201
    with database.read() as session:
        comments = [a.comment for a in session.exec(select(Feedback).order_by(Feedback.id)).all()]
    assert comments == ["ق" * 280, None]


def test_two_answers_at_once_make_one(
    app: Starlette, client: TestClient, agent: TestClient, database: Database
) -> None:
    """Each request its own client and transaction: the database's unique key settles them."""
    ticket = serve(agent, client)
    start = threading.Barrier(2)
    statuses: list[int] = []

    def answer(rating: int) -> None:
        with TestClient(app, raise_server_exceptions=False) as tab:
            start.wait()
            statuses.append(rate(tab, ticket["token"], {"rating": rating})[0])

    twins = [threading.Thread(target=answer, args=(rating,)) for rating in (1, 5)]
    for twin in twins:
        twin.start()
    for twin in twins:
        twin.join()
    assert sorted(statuses) == [201, 409]
    with database.read() as session:
        assert len(session.exec(select(Feedback)).all()) == 1


def test_a_ticket_taken_with_a_phone_gets_one_sms_asking_how_it_went(
    app: Starlette, client: TestClient, agent: TestClient, database: Database
) -> None:
    # At DAM-02 a remote ticket is called without checking in at the kiosk first.
    ticket = take_remote_ticket(client, database, language="en", centre="DAM-02")
    with sign_in(app, "agent3") as agent3:
        agent3.post("/api/v1/centres/DAM-02/counters/1/open")
        for action in ("next", "start", "finish"):
            assert agent3.post(f"/api/v1/centres/DAM-02/counters/1/{action}").status_code == 200
    serve(agent, client)  # no phone: nothing to send
    with database.read() as session:
        sent = session.exec(select(SmsMessage).where(SmsMessage.template == "feedback")).all()
    assert [m.body.splitlines()[-1] for m in sent] == [ticket["tracking_url"]]
    assert ticket["number"] in sent[0].body and "How was your service" in sent[0].body


def test_the_report_gives_answers_and_mean_per_service_counter_and_agent(
    app: Starlette, client: TestClient, agent: TestClient, clock: VirtualClock
) -> None:
    served = []
    for _ in range(3):
        served.append(serve(agent, client, counter=1))
        clock.advance(60)
    with sign_in(app, "agent2") as second:
        served.append(serve(second, client, counter=2))
    for ticket, rating, comment in zip(served, (5, 2, 4, 1), ("Fast", None, "", "Rude"), strict=True):
        body = {"rating": rating} if comment is None else {"rating": rating, "comment": comment}
        assert rate(client, ticket["token"], body)[0] == 201
        clock.advance(60)
    url = "/api/v1/centres/DAM-01/reports/feedback?from=2026-11-29&to=2026-11-29"
    assert client.get(url).status_code == 401
    with sign_in(app, "supervisor1") as supervisor:
        report = supervisor.get(url).json()
        csv = supervisor.get(url + "&format=csv").text
        assert supervisor.get(url.replace("2026-11-29", "2026-11-28")).json() == {"rows": [], "comments": []}
    rows = {(r["by"], r["key"]): (r["answers"], r["mean_rating"]) for r in report["rows"]}
    assert rows == {
        ("service", "CR"): (4, 3.0),
        ("counter", "1"): (3, 3.67),
        ("counter", "2"): (1, 1.0),
        ("agent", "agent1"): (3, 3.67),
        ("agent", "agent2"): (1, 1.0),
    }
    assert [(c["comment"], c["rating"], c["counter"]) for c in report["comments"]] == [
        ("Rude", 1, 2),
        ("Fast", 5, 1),
    ]
    assert report["comments"][0]["given_at"].endswith("+03:00")  # the centre's time
    assert csv.splitlines()[:2] == ["\ufeffby,key,answers,mean_rating", "service,CR,4,3.0"]


def test_the_open_figures_give_the_last_30_days_mean_and_no_comment(
    app: Starlette, client: TestClient, agent: TestClient, clock: VirtualClock
) -> None:
    old = serve(agent, client)
    assert rate(client, old["token"], {"rating": 1, "comment": "long ago"})[0] == 201
    clock.advance(timedelta(days=31).total_seconds())
    agent = sign_in(app, "agent1")  # the first session has expired meanwhile
    assert client.get("/api/v1/centres/DAM-01/transparency").json()["feedback"] == {
        "days": 30,
        "answers": 0,
        "mean_rating": None,
    }
    for rating in (5, 4):
        ticket = serve(agent, client)
        assert rate(client, ticket["token"], {"rating": rating, "comment": "Secret remark"})[0] == 201
    figures = client.get("/api/v1/centres/DAM-01/transparency").json()
    assert figures["feedback"] == {"days": 30, "answers": 2, "mean_rating": 4.5}
    english = client.get("/transparency/DAM-01?lang=en&digits=latin").text
    assert "2 answers in the last 30 days" in english and "mean rating 4.5 out of 5" in english
    arabic = client.get("/transparency/DAM-01?lang=ar&digits=arabic").text
    assert "تقييمان في آخر ٣٠ يوماً" in arabic and "متوسط التقييم ٤٫٥ من ٥" in arabic
    assert "Secret remark" not in english + arabic + str(figures)


def test_comments_are_erased_after_the_retention_period_and_ratings_stay(
    client: TestClient, agent: TestClient, database: Database, clock: VirtualClock
) -> None:
    ticket = serve(agent, client)
    assert rate(client, ticket["token"], {"rating": 2, "comment": "Ask for Samir, he was rude"})[0] == 201
    clock.advance(timedelta(days=91).total_seconds())
    with database.write() as session:
        erase_personal_data(session, now=clock(), retention=timedelta(days=90))
    with database.read() as session:
        answers = [(a.rating, a.comment) for a in session.exec(select(Feedback)).all()]
        erasure = session.exec(select(Event).where(Event.type == "personal_data_erased")).one()
    assert answers == [(2, None)]
    assert erasure.data["comments"] == 1
