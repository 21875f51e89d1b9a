"""Wait prediction, the pure part: learned service times, the share of shared counters, overtakers,
and the 80% range."""

from __future__ import annotations

import pytest

from queueing.prediction import (
    HALF_LIFE_S,
    PRIOR_WEIGHT,
    Completed,
    Desk,
    QueueState,
    ServiceTimes,
    calibrated,
    forecast,
    people_before,
    service_rate,
    typical_wait_s,
)

CR, FS = 1, 2


def test_service_times_start_from_the_configured_mean_and_learn_recent_services_most() -> None:
    assert ServiceTimes([], {CR: 180.0}, now_s=0).mean_s(CR) == 180.0
    times = ServiceTimes([Completed(CR, 7, ended_s=0, duration_s=300.0)], {CR: 180.0}, now_s=0)
    assert times.mean_s(CR) == pytest.approx((PRIOR_WEIGHT * 180 + 300) / (PRIOR_WEIGHT + 1))
    old = ServiceTimes([Completed(CR, 7, ended_s=0, duration_s=300.0)], {CR: 180.0}, now_s=HALF_LIFE_S)
    assert old.mean_s(CR) == pytest.approx((PRIOR_WEIGHT * 180 + 0.5 * 300) / (PRIOR_WEIGHT + 0.5))


def test_a_counter_learns_its_own_pace_from_the_services_mean() -> None:
    slow = [Completed(CR, 1, ended_s=0, duration_s=400.0) for _ in range(30)]
    quick = [Completed(CR, 2, ended_s=0, duration_s=200.0) for _ in range(30)]
    times = ServiceTimes(slow + quick, {CR: 300.0}, now_s=0)
    assert times.mean_s(CR, 1) == pytest.approx(400, rel=0.05)
    assert times.mean_s(CR, 2) == pytest.approx(200, rel=0.05)
    assert times.mean_s(CR, 3) == pytest.approx(times.mean_s(CR))  # a new counter: the service's mean


def queues(cr_waiting: int, fs_waiting: int) -> dict[int, QueueState]:
    return {
        CR: QueueState(cr_waiting, overtakers_per_s=0.0),
        FS: QueueState(fs_waiting, overtakers_per_s=0.0),
    }


def test_people_already_waiting_in_a_shared_counters_other_queues_go_first() -> None:
    desks = [
        Desk(1, {CR: 1.0}, idle=False),
        Desk(2, {CR: 1.0, FS: 0.5}, idle=False),
        Desk(3, {FS: 1.0}, idle=False),
    ]
    # Of FS's 4 waiting, counter 2 (one of FS's two counters, at half CR's weight) takes a share.
    assert people_before(CR, 3, desks=desks, queues=queues(5, 4)) == pytest.approx(3 + 4 * (1 / 2) * 0.5)
    # FS at counter 2 sees CR's 5 in full (weight capped at its own), from one of CR's two counters.
    assert people_before(FS, 0, desks=desks, queues=queues(5, 4)) == pytest.approx(5 * (1 / 2) * 1.0)


def test_the_counters_calling_a_queue_serve_it_at_their_learned_pace() -> None:
    times = ServiceTimes(
        [Completed(CR, 2, ended_s=0, duration_s=60.0) for _ in range(97)], {CR: 180.0}, now_s=0
    )
    desks = [
        Desk(1, {CR: 1.0}, idle=False),
        Desk(2, {CR: 1.0, FS: 1.0}, idle=False),
        Desk(3, {FS: 1.0}, idle=True),
    ]
    slow, quick = times.mean_s(CR, 1), times.mean_s(CR, 2)
    assert service_rate(CR, desks=desks, queues=queues(3, 0), times=times) == pytest.approx(
        1 / slow + 1 / quick
    )


def test_a_counter_with_nobody_in_its_own_queues_helps_with_its_backups() -> None:
    times = ServiceTimes([], {CR: 180.0, FS: 180.0}, now_s=0)
    desks = [Desk(1, {CR: 1.0}, idle=False), Desk(2, {FS: 1.0}, idle=True, backups={CR: 1.0})]
    assert service_rate(CR, desks=desks, queues=queues(4, 0), times=times) == pytest.approx(2 / 180)
    assert service_rate(CR, desks=desks, queues=queues(4, 1), times=times) == pytest.approx(
        1 / 180
    )  # busy at home
    # With counter 2 free and helping, 4 ahead are 4 services away: the first goes to counter 2 now.
    assert forecast(4, CR, desks=desks, queues=queues(4, 0), times=times, ratios=[]).typical_s == (4 * 90)


def test_a_learned_mean_within_its_own_noise_of_the_configured_one_is_not_used() -> None:
    # Thirty services of 150 and 250 s: mean 200, spread 50, standard error about 9 s.
    around = [Completed(CR, 7, ended_s=0, duration_s=150.0 + 100 * (k % 2)) for k in range(30)]
    assert ServiceTimes(around, {CR: 190.0}, now_s=0).mean_s(CR) == 190.0  # 10 s off: noise
    learned = ServiceTimes(around, {CR: 300.0}, now_s=0).mean_s(CR)  # 100 s off: the configuration
    assert learned == pytest.approx((PRIOR_WEIGHT * 300 + 30 * 200) / (PRIOR_WEIGHT + 30))


def test_overtakers_slow_a_queue_down() -> None:
    assert typical_wait_s(3, rate_per_s=1 / 60, overtakers_per_s=0, idle=0) == pytest.approx(240)
    assert typical_wait_s(3, rate_per_s=1 / 60, overtakers_per_s=1 / 240, idle=0) == pytest.approx(320)
    assert typical_wait_s(0, rate_per_s=1 / 60, overtakers_per_s=0, idle=1) == 0  # a counter is free


def test_recent_outcomes_scale_the_forecast_and_set_its_range_once_there_are_enough() -> None:
    ratios = [0.5 + i / 100 for i in range(101)]  # 0.5 ... 1.5
    typical, low, high = calibrated(600, services=4, ratios=ratios)
    assert typical == pytest.approx(600 * 1.0)  # their median
    assert (low, high) == (pytest.approx(600 * 0.58), pytest.approx(600 * 1.42))  # 8th, 92nd percentiles
    # A model that promised twice the waits that came is halved.
    assert calibrated(600, services=4, ratios=[0.5] * 30)[0] == pytest.approx(300)
    # Few outcomes: the model's wait as it is, in the spread of 4 service ends (Gamma), narrower
    # with more ends to wait for.
    typical4, low4, high4 = calibrated(600, services=4, ratios=ratios[:5])
    typical16, low16, high16 = calibrated(600, services=16, ratios=[])
    assert typical4 == typical16 == 600
    assert low4 < low16 < 600 < high16 < high4


def test_only_a_queue_that_counters_back_up_is_scaled_and_the_model_s_wait_is_kept() -> None:
    times = ServiceTimes([], {CR: 180.0}, now_s=0)
    alone = [Desk(1, {CR: 1.0}, idle=False)]
    backed_up = [*alone, Desk(2, {FS: 1.0}, idle=False, backups={CR: 1.0})]  # busy with its own FS
    late = [2.0] * 30  # recent waits came out twice as long as modelled
    plain = forecast(3, CR, desks=alone, queues=queues(3, 1), times=times, ratios=late)
    helped = forecast(3, CR, desks=backed_up, queues=queues(3, 1), times=times, ratios=late)
    assert (plain.model_s, plain.typical_s) == (4 * 180, 4 * 180)
    assert (helped.model_s, helped.typical_s) == (4 * 180, 2 * 4 * 180)
    assert plain.high_s == helped.high_s == 2 * 4 * 180  # the range follows the outcomes either way


def test_nobody_calling_the_queue_falls_back_to_the_configured_mean() -> None:
    times = ServiceTimes([], {CR: 180.0}, now_s=0)
    result = forecast(2, CR, desks=[], queues=queues(2, 0), times=times, ratios=[])
    assert result.typical_s == 360
