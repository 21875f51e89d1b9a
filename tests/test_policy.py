"""The routing policy, a pure function: who a counter calls next (docs/queueing.md)."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from queueing.policy import Candidate, PolicyConfig, Priority, behind_everyone, choose_next, ordered

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
CONFIG = PolicyConfig()
CR, NC = 1, 2


def waited(ticket_id: int, minutes: float, service: int = CR, **kwargs: object) -> Candidate:
    return Candidate(ticket_id, service, NOW - timedelta(minutes=minutes), **kwargs)  # type: ignore[arg-type]


def test_first_come_first_served_within_one_queue() -> None:
    queue = [waited(1, 5), waited(2, 12), waited(3, 8)]
    assert [c.ticket_id for c in ordered(queue, weights={CR: 1.0}, now=NOW, config=CONFIG)] == [2, 3, 1]


def test_nobody_waiting_means_none() -> None:
    assert choose_next([], weights={CR: 1.0}, now=NOW, config=CONFIG) is None


def test_a_counter_only_calls_the_services_it_serves() -> None:
    queue = [waited(1, 30, service=NC), waited(2, 1)]
    assert choose_next(queue, weights={CR: 1.0}, now=NOW, config=CONFIG) == queue[1]
    assert choose_next([queue[0]], weights={CR: 1.0}, now=NOW, config=CONFIG) is None


def test_a_due_appointment_goes_first() -> None:
    walk_in = waited(1, 40)
    booked = waited(2, 2, appointment_at=NOW - timedelta(minutes=1))
    assert choose_next([walk_in, booked], weights={CR: 1.0}, now=NOW, config=CONFIG) == booked


def test_an_appointment_that_is_not_yet_due_waits_like_everyone() -> None:
    walk_in = waited(1, 10)
    early = waited(2, 2, appointment_at=NOW + timedelta(minutes=20))
    assert choose_next([walk_in, early], weights={CR: 1.0}, now=NOW, config=CONFIG) == walk_in


def test_priority_class_gets_a_head_start_not_a_blank_cheque() -> None:
    elderly = waited(1, 1, priority=Priority.ELDERLY)  # score 60 + 900
    recent = waited(2, 10)  # 600
    long_waiting = waited(3, 20)  # 1200
    assert choose_next([elderly, recent], weights={CR: 1.0}, now=NOW, config=CONFIG) == elderly
    assert choose_next([elderly, long_waiting], weights={CR: 1.0}, now=NOW, config=CONFIG) == long_waiting


def test_service_weights_scale_waiting_time() -> None:
    nc = waited(1, 10, service=NC)  # 600 s x 0.5 = 300
    cr = waited(2, 6)  # 360 s x 1.0 = 360
    assert choose_next([nc, cr], weights={CR: 1.0, NC: 0.5}, now=NOW, config=CONFIG) == cr
    assert choose_next([nc, cr], weights={CR: 1.0, NC: 1.0}, now=NOW, config=CONFIG) == nc


def test_ageing_puts_a_long_wait_ahead_of_any_score() -> None:
    config = PolicyConfig(max_wait_s=3600)
    low_weight_but_old = waited(1, 61, service=NC)  # 3660 s x 0.1 = 366, but past the limit
    favoured = waited(2, 30, priority=Priority.DISABLED)  # 1800 + 900
    assert choose_next(
        [low_weight_but_old, favoured], weights={CR: 1.0, NC: 0.1}, now=NOW, config=config
    ) == (low_weight_but_old)


def test_a_backup_queue_is_called_only_when_the_own_queues_are_empty() -> None:
    backup = waited(1, 40, service=NC)
    own = waited(2, 1)
    assert choose_next([backup, own], weights={CR: 1.0}, backups={NC: 1.0}, now=NOW, config=CONFIG) == own
    assert choose_next([backup], weights={CR: 1.0}, backups={NC: 1.0}, now=NOW, config=CONFIG) == backup
    booked = waited(3, 1, service=NC, appointment_at=NOW - timedelta(minutes=5))
    assert choose_next([booked, own], weights={CR: 1.0}, backups={NC: 1.0}, now=NOW, config=CONFIG) == own


def test_a_ticket_past_the_ageing_limit_goes_first_at_its_backup_counters_too() -> None:
    config = PolicyConfig(max_wait_s=3600)
    aged_backup = waited(1, 61, service=NC)
    own = waited(2, 59)
    assert choose_next([aged_backup, own], weights={CR: 1.0}, backups={NC: 1.0}, now=NOW, config=config) == (
        aged_backup
    )


def test_ties_go_to_the_earlier_arrival_then_the_lower_id() -> None:
    same_time = [waited(7, 5), waited(3, 5)]
    assert choose_next(same_time, weights={CR: 1.0}, now=NOW, config=CONFIG) == same_time[1]


candidates = st.lists(
    st.builds(
        Candidate,
        ticket_id=st.integers(1, 10_000),
        service_id=st.sampled_from([CR, NC]),
        arrived_at=st.integers(0, 4 * 3600).map(lambda s: NOW - timedelta(seconds=s)),
        priority=st.sampled_from(list(Priority)),
        appointment_at=st.none() | st.integers(-3600, 3600).map(lambda s: NOW + timedelta(seconds=s)),
    ),
    max_size=30,
    unique_by=lambda c: c.ticket_id,
)
weights = st.fixed_dictionaries({CR: st.floats(0.1, 2.0), NC: st.floats(0.1, 2.0)})


@given(candidates, weights)
def test_choose_next_is_the_head_of_the_order(queue: list[Candidate], w: dict[int, float]) -> None:
    order = ordered(queue, weights=w, now=NOW, config=CONFIG)
    assert choose_next(queue, weights=w, now=NOW, config=CONFIG) == (order[0] if order else None)


@given(candidates, weights)
def test_nobody_is_overtaken_once_past_the_ageing_limit(queue: list[Candidate], w: dict[int, float]) -> None:
    """Unless an appointment is due, the longest-waiting ticket past the limit is called first."""
    chosen = choose_next(queue, weights=w, now=NOW, config=CONFIG)
    due = [c for c in queue if c.appointment_at is not None and c.appointment_at <= NOW]
    aged = [c for c in queue if (NOW - c.arrived_at).total_seconds() >= CONFIG.max_wait_s and c not in due]
    if not due and aged:
        oldest = min(aged, key=lambda c: (c.arrived_at, c.ticket_id))
        assert chosen == oldest


head_starts = st.dictionaries(st.sampled_from(list(Priority)), st.floats(-1800, 1800), max_size=4)


@given(candidates, st.sampled_from(list(Priority)), head_starts, st.floats(0.0, 3.0))
def test_a_newcomer_said_to_be_behind_everyone_is_last_in_the_order(
    queue: list[Candidate], priority: Priority, starts: dict[Priority, float], weight: float
) -> None:
    """What a new ticket's promise relies on to skip ranking its queue: the order agrees."""
    config = PolicyConfig(priority_head_start_s=starts)
    newcomer = Candidate(10**9, CR, NOW, priority)
    line = [c for c in queue if c.service_id == CR]
    place = ordered([*line, newcomer], weights={CR: weight}, now=NOW, config=config).index(newcomer)
    if behind_everyone(priority, config=config):
        assert place == len(line)
    if priority == Priority.NONE and not starts:
        assert behind_everyone(priority, config=config)  # the common case is the fast one
