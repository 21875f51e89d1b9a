"""The simulator: Erlang C, the real engine on a virtual clock checked against it, reproducibility, and
scenario files refused before anything runs."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from eventlog.models import Event
from queueing.models import Ticket
from scheduling.capacity import capacity
from scheduling.erlang import erlang_c_probability, erlang_c_wait
from scheduling.simulation.intervals import batch_means, interval_95, mser5
from scheduling.simulation.memory_engine import unsupported
from scheduling.simulation.report import summarise
from scheduling.simulation.scenario import Scenario, load_scenario, overloaded, variant
from server.cli import main
from server.simulate_cli import simulate
from tests.simulated import on_database

SCENARIOS = Path(__file__).resolve().parent.parent / "config" / "scenarios"


def mmc(*, servers: int, load: float, citizens: int, warm_up: int | None) -> Scenario:
    """An M/M/c queue: one service that every counter serves, exponential times, no priorities."""
    mean_s = 300.0
    return Scenario.model_validate(
        {
            "name": f"M/M/{servers} at {load:.0%}",
            "stationary": {"citizens": citizens, "warm_up": warm_up},
            "service": [
                {
                    "code": "CR",
                    "mean_service_s": mean_s,
                    "distribution": "exponential",
                    "cv": 1.0,
                    "walk_ins_per_hour": [load * servers / mean_s * 3600],
                }
            ],
            "counter": [{"count": servers, "services": {"CR": 1.0}}],
        }
    )


SMALL_DAY: dict[str, Any] = {
    "name": "A small morning",
    "walk_s": 15,
    "day": {"opens": "08:00", "closes": "10:00"},
    "appointments": {"no_show_share": 0.3},
    "service": [
        {"code": "CR", "mean_service_s": 240, "walk_ins_per_hour": [25, 35], "priority_share": 0.1},
        {
            "code": "PP",
            "mean_service_s": 600,
            "cv": 0.4,
            "walk_ins_per_hour": [4],
            "appointments_per_hour": [3],
        },
    ],
    "counter": [
        {"services": {"CR": 1.0, "PP": 0.5}, "breaks": [["09:00", "09:10"]]},
        {"count": 2, "services": {"CR": 1.0}},
        {"services": {"PP": 1.0, "CR": 0.5}},
    ],
}


# --- Erlang C itself -----------------------------------------------------------------------------


def test_erlang_c_reduces_to_the_single_server_queue() -> None:
    # M/M/1: an arrival waits with probability ρ, and Wq = ρ / (μ − λ).
    assert erlang_c_probability(offered_load=0.5, servers=1) == pytest.approx(0.5)
    assert erlang_c_wait(0.5, 1.0, 1) == pytest.approx(1.0)


def test_erlang_c_matches_the_textbook_two_server_case() -> None:
    # M/M/2 with a = 1 erlang: C = (a²/2)(2/(2 − a)) / (1 + a + (a²/2)(2/(2 − a))) = 1/3, Wq = C / (2μ − λ).
    assert erlang_c_probability(offered_load=1.0, servers=2) == pytest.approx(1 / 3)
    assert erlang_c_wait(1.0, 1.0, 2) == pytest.approx(1 / 3)


def test_erlang_c_refuses_a_queue_that_never_settles() -> None:
    with pytest.raises(ValueError, match="never settles"):
        erlang_c_wait(6.0, 1.0, 6)


# --- the engine, simulated, against Erlang C ---------------------------------------------------


def test_a_steady_queue_is_served_in_arrival_order_and_reported_beside_erlang_c() -> None:
    # Two counters at 50%, short, on the database engine: whether the waits match Erlang C's takes
    # far more citizens, so bench/simulation_erlang_c.py measures that. The order of calls needs no
    # statistics.
    servers, load, citizens, warm_up = 2, 0.5, 300, 30
    scenario = mmc(servers=servers, load=load, citizens=citizens, warm_up=warm_up)
    with on_database(scenario, seed=7) as (outcome, _):
        served = outcome.served
        results = summarise(outcome, scenario=scenario, seed=7, warm_up=warm_up)
    # One service, equal weights, no priorities: the policy must call strictly in order of arrival.
    calls = sorted(served, key=lambda ticket: (ticket.called_s, ticket.arrived_s))
    assert [c.arrived_s for c in calls] == sorted(c.arrived_s for c in calls)
    assert len(served) - warm_up == results["measured"] == citizens - warm_up
    mu, lam = 1 / 300, load * servers / 300
    erlang = results["erlang_c"]
    assert (erlang["servers"], erlang["load"]) == (servers, load)
    assert erlang["predicted_mean_wait_s"] == pytest.approx(erlang_c_wait(lam, mu, servers), abs=1e-3)
    assert erlang["relative_error"] == pytest.approx(
        erlang["simulated_mean_wait_s"] / erlang["predicted_mean_wait_s"] - 1, abs=1e-3
    )
    assert 0 < results["mean_utilisation"] < 1


def test_same_seed_gives_identical_results() -> None:
    scenario = Scenario.model_validate(SMALL_DAY)
    first, again = simulate(scenario, seed=11), simulate(scenario, seed=11)
    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)
    assert first != simulate(scenario, seed=12)


def test_a_day_serves_everyone_who_came_and_takes_its_breaks() -> None:
    results = simulate(Scenario.model_validate(SMALL_DAY), seed=3)
    appointments = results["appointments"]
    served = results["walk_ins"]["served"] + appointments["checked_in"]
    assert served == results["citizens"]
    assert appointments["booked"] == 6 and appointments["checked_in"] + appointments["no_shows"] == 6
    assert results["counters"]["1"]["break_s"] == 600
    assert results["peak_hall"]["people"] >= max(results["series"]["hall"]) > 0
    assert 0 < results["mean_utilisation"] < 1


# --- balancing counters and centres, remote tickets ----------------------------------------------


def ring(*, rates: list[float], citizens: int) -> Scenario:
    """Three services, three counters, each with one own queue and the next as a backup."""
    codes = ["CR", "FS", "ID"]
    return Scenario.model_validate(
        {
            "name": "a ring of two skills",
            "stationary": {"citizens": citizens, "warm_up": citizens // 10},
            "balancer": {"mode": "apply", "every_s": 60},
            "service": [
                {
                    "code": code,
                    "mean_service_s": 600,
                    "distribution": "exponential",
                    "cv": 1.0,
                    "walk_ins_per_hour": [rate],
                }
                for code, rate in zip(codes, rates, strict=True)
            ],
            "counter": [
                {"services": {code: 1.0}, "backups": {codes[(i + 1) % 3]: 1.0}}
                for i, code in enumerate(codes)
            ],
        }
    )


def test_a_balanced_ring_keeps_an_overloaded_service_in_check_where_dedicated_counters_cannot() -> None:
    # ID asks for 1.05 counters: alone on its counter its queue grows for as long as the run lasts.
    scenario = ring(rates=[3.0, 4.0, 6.3], citizens=300)
    dedicated = variant(scenario, "dedicated")
    assert [code for _, code, _, _ in overloaded(dedicated)] == ["ID"]
    balanced, alone = simulate(scenario, seed=5), simulate(dedicated, seed=5)
    assert balanced["balancer"]["moves"] > 0 and alone["balancer"]["moves"] == 0
    assert balanced["citizens"] == alone["citizens"] == 300  # the same citizens (common random numbers)
    assert balanced["services"]["ID"]["mean_wait_s"] < alone["services"]["ID"]["mean_wait_s"] / 3
    assert balanced["walk_ins"]["mean_wait_s"] < alone["walk_ins"]["mean_wait_s"]


def two_centres(follow_share: float) -> Scenario:
    return Scenario.model_validate(
        {
            "name": "two centres",
            "stationary": {"citizens": 600, "warm_up": 60},
            "advice": {"follow_share": follow_share, "travel_s_per_km": 180},
            "centre": [
                {"code": "DAM-01", "latitude": 33.5, "longitude": 36.25, "demand": 1.2},
                {"code": "DAM-02", "latitude": 33.5, "longitude": 36.2716, "demand": 0.8},
            ],
            "service": [
                {
                    "code": "CR",
                    "mean_service_s": 600,
                    "distribution": "exponential",
                    "cv": 1.0,
                    "walk_ins_per_hour": [14.0],
                }
            ],
            "counter": [
                {"centre": "DAM-01", "count": 3, "services": {"CR": 1.0}},
                {"centre": "DAM-02", "count": 3, "services": {"CR": 1.0}},
            ],
        }
    )


def test_citizens_who_follow_the_recommendations_shorten_the_waits_of_both_centres() -> None:
    alone, advised = simulate(two_centres(0.0), seed=4), simulate(two_centres(0.5), seed=4)
    assert "advice" not in alone
    assert advised["advice"]["sent_elsewhere"] > 0
    assert advised["advice"]["mean_extra_travel_s"] == pytest.approx(2.0 * 180, rel=0.01)  # 2.0 km apart
    for results in (alone, advised):
        centres = results["centres"]
        assert (
            centres["DAM-01"]["walk_ins"]["served"] + centres["DAM-02"]["walk_ins"]["served"]
            == (results["walk_ins"]["served"])
        )
    busy = alone["centres"]["DAM-01"]["walk_ins"]["mean_wait_s"]
    assert busy > 2 * alone["centres"]["DAM-02"]["walk_ins"]["mean_wait_s"]
    assert advised["walk_ins"]["mean_wait_s"] < alone["walk_ins"]["mean_wait_s"]


def test_every_walk_in_is_told_a_wait_and_each_predictor_is_scored_on_the_same_people() -> None:
    results = simulate(Scenario.model_validate(SMALL_DAY), seed=3)
    prediction = results["prediction"]
    # All but the first walk-in of each queue (nobody before them to learn the last wait from).
    assert prediction["walk_ins"] == results["walk_ins"]["served"] - 2
    errors = prediction["mean_absolute_error_s"]
    assert set(errors) == {"learned", "oracle", "plain", "last_to_enter", "rolling"}
    assert all(error >= 0 for error in errors.values())
    assert 0 < prediction["range_coverage"] <= 1 and prediction["mean_range_width_s"] > 0


def test_remote_tickets_keep_people_out_of_the_hall_until_their_turn_is_near() -> None:
    in_person = simulate(Scenario.model_validate(SMALL_DAY), seed=3)
    remote_day = {**SMALL_DAY, "remote": {"share": 0.5, "notify_lead_min": 5, "travel_min": [2, 5]}}
    remote = simulate(Scenario.model_validate(remote_day), seed=3)
    assert remote["remote"]["tickets"] > 0
    served = remote["walk_ins"]["served"] + remote["appointments"]["checked_in"]
    assert served == remote["citizens"] == in_person["citizens"]  # everyone came and was served
    assert remote["peak_hall"]["people"] < in_person["peak_hall"]["people"]


def test_a_remote_ticket_is_called_only_after_its_holder_checked_in_at_the_kiosk() -> None:
    remote_day = {**SMALL_DAY, "remote": {"share": 1.0, "notify_lead_min": 5, "travel_min": [2, 5]}}
    with (
        on_database(Scenario.model_validate(remote_day), seed=3) as (_, database),
        database.read() as session,
    ):
        events = session.exec(select(Event.ticket_id, Event.type).order_by(col(Event.seq))).all()
        remote = set(session.exec(select(Ticket.id).where(Ticket.channel == "remote")).all())
    checked_in = [ticket for ticket, kind in events if kind == "checked_in"]
    called_first = [ticket for ticket, kind in events if kind == "called" and ticket in remote]
    assert remote and sorted(checked_in) == sorted(remote) == sorted(called_first)
    for ticket in remote:
        kinds = [kind for t, kind in events if t == ticket]
        assert kinds.index("checked_in") < kinds.index("called")


def test_a_walk_in_who_left_is_called_twice_and_marked_a_no_show_and_everyone_else_is_served() -> None:
    day = Scenario.model_validate({**SMALL_DAY, "walk_away_share": 0.2})
    assert unsupported(day) == "walk-aways (their recalls and no-shows) run on the database engine only"
    with on_database(day, seed=3) as (_, database), database.read() as session:
        events = session.exec(select(Event.ticket_id, Event.type, Event.at).order_by(col(Event.seq))).all()
        tickets = session.exec(select(Ticket)).all()
    gone = {t.id for t in tickets if t.status == "no_show"}
    assert gone and all(t.status == "done" for t in tickets if t.id not in gone)
    for ticket in gone:
        kinds = [(kind, at) for t, kind, at in events if t == ticket]
        assert [kind for kind, _ in kinds] == ["issued", "called", "recalled", "no_show"]
        assert kinds[-1][1] - kinds[1][1] == timedelta(seconds=90)


def test_bookings_fill_each_slot_up_to_its_places_and_the_rest_take_the_nearest() -> None:
    booked_day = {**SMALL_DAY, "booking": {"share": 1.0, "slot_min": 30, "places": "flat"}}
    scenario = Scenario.model_validate(booked_day)
    with on_database(scenario, seed=3) as (outcome, database):
        results = summarise(outcome, scenario=scenario, seed=3, warm_up=0)
        with database.read() as session:
            slots = session.exec(
                select(Ticket.appointment_at).where(Ticket.service_id == outcome.service_ids["CR"])
            ).all()
    # CR: 3 counters' worth (2 + 2/3 + 1/3) x 30 min / 240 s x (1 - 0.5) = 11 places a slot.
    places = capacity(
        slot=timedelta(minutes=30),
        mean_service_s=240,
        counter_weights=[{"CR": 1.0, "PP": 0.5}, {"CR": 1.0}, {"CR": 1.0}, {"PP": 1.0, "CR": 0.5}],
        service_id="CR",
        walk_in_share=0.5,
    )
    per_slot = Counter(slot for slot in slots if slot is not None)
    assert places == 11 and max(per_slot.values()) == places  # full slots, never overfilled
    booking = results["booking"]
    assert booking["booked_instead_of_walking_in"] > 0 and booking["mean_displacement_s"] > 0
    # Their delay counts how far the slot was from when they wanted it, beside the wait.
    assert results["delay"]["mean_wait_s"] > results["everyone"]["mean_wait_s"]
    walked_in = sum(1 for slot in slots if slot is None)
    assert walked_in > 0  # no place left that morning: they came as walk-ins
    assert results["everyone"]["served"] == results["citizens"]


def test_places_by_demand_keep_bookings_out_of_the_hour_walk_ins_fill() -> None:
    busy = {
        **SMALL_DAY,
        "service": [{**SMALL_DAY["service"][0], "walk_ins_per_hour": [25, 60]}, SMALL_DAY["service"][1]],
    }

    def per_slot(places: str) -> Counter[float]:
        day = {**busy, "booking": {"share": 0.5, "slot_min": 30, "places": places, "target_load": 0.8}}
        with (
            on_database(Scenario.model_validate(day), seed=3) as (outcome, database),
            database.read() as session,
        ):
            slots = session.exec(
                select(Ticket.appointment_at).where(Ticket.service_id == outcome.service_ids["CR"])
            ).all()
        return Counter(slot.timestamp() for slot in slots if slot is not None)

    flat, demand = per_slot("flat"), per_slot("demand")
    second_hour = sorted(flat)[-2:]  # 09:00 and 09:30
    # Flat: 11 places a slot all morning. By demand: the second hour's walk-ins (60 extracts and 4
    # passports, half of them booking instead) leave 4 counters x 1,800 s x 0.8 - 4,200 s = 1,560 s
    # a slot, 48% of the flat places' work: 5 extracts.
    assert [flat[t] for t in second_hour] == [11, 11]
    assert [demand[t] for t in second_hour] == [5, 5]


# --- scenario files --------------------------------------------------------------------------------


def test_the_shipped_scenarios_load() -> None:
    assert load_scenario(SCENARIOS / "erlang-c.toml").counters() == 6
    assert load_scenario(SCENARIOS / "damascus-day.toml").hours() == 7


GOOD = """\
name = "four counters"
[stationary]
citizens = 100
warm_up = 10
[[service]]
code = "CR"
walk_ins_per_hour = [20]
mean_service_s = 600
[[counter]]
count = 4
services = { CR = 1.0 }
"""


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "mean_service_s = 600",
            'mean_service_s = 600\nspeed = "fast"',
            r"line 9, service\[0\]\.speed: Extra",
        ),
        ("[20]", "[-20]", r"line 7, service\[0\]\.walk_ins_per_hour\[0\]: Input should be greater"),
        (
            "{ CR = 1.0 }",
            "{ CR = 1.0, XX = 0.5 }",
            r"line 11, counter\[0\]\.services\.XX: unknown service XX",
        ),
        ("warm_up = 10", "warm_up = 100", r"line 4, stationary\.warm_up: the warm-up must be shorter"),
        (
            "count = 4",
            'count = 4\ncentre = "DAM-09"',
            r"line 11, counter\[0\]\.centre: unknown centre DAM-09",
        ),
        (
            "{ CR = 1.0 }",
            "{ CR = 1.0 }\nbackups = { CR = 1.0 }",
            r"line 12, counter\[0\]\.backups\.CR: CR is already one of its own queues",
        ),
        (
            "[stationary]",
            "[remote]\ntravel_min = [15, 5]\n[stationary]",
            r"line 3, remote\.travel_min: Value error, \[15\.0, 5\.0\] is not a range",
        ),
        (
            "[stationary]",
            "[booking]\nshare = 0.5\n[stationary]",
            r"line 3, booking\.share: bookings need slots: they belong to a \[day\] scenario",
        ),
    ],
    ids=[
        "unknown-key",
        "negative-rate",
        "unknown-service",
        "warm-up-too-long",
        "unknown-centre",
        "own-and-backup",
        "travel-range",
        "booking-without-day",
    ],
)
def test_a_bad_scenario_is_refused_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace(old, new), encoding="utf-8")
    assert main(["simulate", str(path), "--json", str(tmp_path / "out.json")]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"dor simulate: {path} line")
    assert re.search(message, error), error
    assert not (tmp_path / "out.json").exists()


def test_a_toml_syntax_error_gives_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(GOOD.replace("count = 4", "count = "), encoding="utf-8")
    assert main(["simulate", str(path)]) == 2
    assert "line 10" in capsys.readouterr().err


def test_a_good_scenario_file_runs_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "good.toml"
    path.write_text(GOOD, encoding="utf-8")
    out, chart = tmp_path / "out.json", tmp_path / "chart.png"
    assert (
        main(["simulate", str(path), "--seed", "2", "--json", str(out), "--chart", str(chart), "--quiet"])
        == 0
    )
    assert "peak hall occupancy" in capsys.readouterr().out
    assert json.loads(out.read_text(encoding="utf-8"))["citizens"] == 100
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_an_overloaded_queue_is_simulated_and_reported_as_unstable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 36 an hour come to four counters that serve 24 an hour (150%): the queue grows by 12 an hour.
    path = tmp_path / "overloaded.toml"
    path.write_text(
        GOOD.replace("[20]", "[36]").replace("citizens = 100", "citizens = 500"), encoding="utf-8"
    )
    out = tmp_path / "out.json"
    assert main(["simulate", str(path), "--seed", "2", "--json", str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "offered load is 150% of 4 counters; the queue grows" in captured.err
    assert "unstable: offered load is 150% of 4 counters; the queue grew by" in captured.out
    results = json.loads(out.read_text(encoding="utf-8"))
    assert results["stability"]["stable"] is False
    assert results["stability"]["offered_load"] == pytest.approx(1.5)
    assert 6 < results["stability"]["queue_growth_per_hour"] < 18
    assert "erlang_c" not in results


def test_a_steady_queue_is_reported_stable() -> None:
    results = simulate(mmc(servers=2, load=0.5, citizens=300, warm_up=30), seed=5)
    assert results["stability"]["stable"] is True
    assert results["stability"]["offered_load"] == pytest.approx(0.5)
    assert "why_not" not in results["stability"]


def test_advice_never_sends_anyone_to_a_centre_closed_by_the_time_they_get_there() -> None:
    # DAM-01 is busy and DAM-02 idle, 40 minutes apart, and everyone asks the recommendations: in the
    # last 40 minutes of intake nobody can reach DAM-02 before it closes, so they stay.
    day = {
        "name": "two centres, far apart",
        "day": {"opens": "08:00", "closes": "10:00"},
        "advice": {"follow_share": 1.0, "travel_s_per_km": 240},
        "centre": [
            {"code": "DAM-01", "latitude": 33.5, "longitude": 36.25, "demand": 1.0},
            {"code": "DAM-02", "latitude": 33.5, "longitude": 36.358, "demand": 0.1},
        ],
        "service": [{"code": "CR", "mean_service_s": 600, "walk_ins_per_hour": [30]}],
        "counter": [
            {"centre": "DAM-01", "count": 3, "services": {"CR": 1.0}},
            {"centre": "DAM-02", "count": 3, "services": {"CR": 1.0}},
        ],
    }
    results = simulate(Scenario.model_validate(day), seed=4)
    assert results["advice"]["sent_elsewhere"] > 0
    assert results["advice"]["mean_extra_travel_s"] == pytest.approx(40 * 60, rel=0.05)
    centres = results["centres"]
    assert (
        centres["DAM-01"]["walk_ins"]["served"] + centres["DAM-02"]["walk_ins"]["served"]
        == results["citizens"]
    )


def test_the_interval_over_runs_is_students_t() -> None:
    # Five runs 1..5: mean 3, standard deviation 1.581, t(4) = 2.776, half-width 2.776 × 1.581 / √5.
    mean, half = interval_95([1.0, 2.0, 3.0, 4.0, 5.0])
    assert mean == 3.0
    assert half == pytest.approx(1.963, abs=0.001)
    assert interval_95([7.0]) == (7.0, None)


def test_several_days_print_each_figure_with_its_95_percent_interval(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, out = tmp_path / "good.toml", tmp_path / "out.json"
    path.write_text(GOOD, encoding="utf-8")
    assert main(["simulate", str(path), "--days", "3", "--json", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "means over 3 days (seeds 1-3), each ± the half-width of its 95% interval:" in printed
    results = json.loads(out.read_text(encoding="utf-8"))
    waits = [run["walk_ins"]["mean_wait_s"] / 60 for run in results["runs"]]
    mean, half = interval_95(waits)
    assert results["mean"]["mean_wait_min"] == {"mean": round(mean, 3), "ci95": round(half or 0, 3)}
    assert f"mean_wait_min {round(mean, 3):g} ± {round(half or 0, 3):g}" in printed


# --- how sure a run is ------------------------------------------------------------------------------


def test_mser5_drops_the_start_that_is_not_yet_the_steady_state() -> None:
    rng = random.Random(1)
    start = [100.0 - i / 3 for i in range(300)]  # a queue that drains from a crowd over 300 citizens
    steady = [rng.gauss(0.0, 5.0) for _ in range(3000)]
    cut = mser5(start + steady)
    assert 250 <= cut <= 400
    assert mser5(steady) < 100  # nothing to drop where the run starts steady


def fcfs_mmc_waits(*, servers: int, load: float, customers: int, rng: random.Random) -> list[float]:
    """Waits in an M/M/c queue served first come, first served (the Kiefer-Wolfowitz recursion: each
    customer takes the counter that frees first), independent of the simulator and its database."""
    mean_s = 300.0
    free_at = [0.0] * servers
    now, waits = 0.0, []
    for _ in range(customers):
        now += rng.expovariate(load * servers / mean_s)
        soonest = min(range(servers), key=free_at.__getitem__)
        start = max(now, free_at[soonest])
        waits.append(start - now)
        free_at[soonest] = start + rng.expovariate(1 / mean_s)
    return waits


def test_the_interval_of_one_run_covers_erlang_c_in_about_95_percent_of_runs() -> None:
    # M/M/2 at 70%: 40 runs of 20,000 customers, each cut by MSER-5 and given its batch-means
    # interval. Were the intervals too narrow (batches too short to be independent), far fewer
    # than 95% would hold the true mean; 35 of 40 is 2.2 standard deviations below 38.
    truth = erlang_c_wait(0.7 * 2 / 300, 1 / 300, 2)
    covered = 0
    for seed in range(40):
        waits = fcfs_mmc_waits(servers=2, load=0.7, customers=20_000, rng=random.Random(seed))
        kept = waits[mser5(waits) :]
        mean, half, batches = batch_means(kept)
        assert half is not None and batches >= 8
        covered += abs(mean - truth) <= half
    assert 35 <= covered <= 40
