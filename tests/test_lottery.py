"""The draw itself (booking/lottery.py): deterministic from its seed and list, blind to the order people
applied in, fair to every applicant, and re-runnable by anyone, who catches a tampered seed, list or
result."""

import hashlib
import random
from collections import Counter
from dataclasses import replace
from datetime import date

import pytest

from booking.lottery import (
    Application,
    Choice,
    Outcome,
    Place,
    Record,
    allocate,
    commitment,
    order,
    run,
    verify,
)

DAY = date(2027, 1, 10)
NEXT = date(2027, 1, 11)


def people(count: int, choices: tuple[Choice, ...] = (Choice("DAM-01"),)) -> list[Application]:
    return [Application(f"{n:04X}-0000-0000-0000", choices) for n in range(count)]


def slots(centre: str, day: date, *places: int) -> list[Place]:
    return [Place(centre, day, f"{day.isoformat()}T{6 + i:02d}:00:00Z", n) for i, n in enumerate(places)]


def seed(n: int) -> bytes:
    return hashlib.sha256(f"seed {n}".encode()).digest()


def test_the_same_seed_and_list_give_the_same_draw_whatever_order_people_applied_in() -> None:
    applications = people(200)
    shuffled = random.Random(7).sample(applications, len(applications))
    places = slots("DAM-01", DAY, 3, 3, 3)
    assert run(seed(1), applications, places) == run(seed(1), shuffled, places)
    names = [[a.pseudonym for a in order(seed(n), applications)] for n in (1, 2)]
    assert names[0] != names[1]


def test_applicants_take_the_earliest_place_left_among_their_choices_in_their_order() -> None:
    first, second, third = (
        Application("A", (Choice("DAM-02", NEXT), Choice("DAM-01"))),
        Application("B", (Choice("DAM-02", NEXT),)),
        Application("C", (Choice("DAM-02", NEXT), Choice("DAM-01", DAY))),
    )
    places = slots("DAM-01", DAY, 0, 1) + slots("DAM-02", NEXT, 1)
    drawn = [first, second, third]  # as if drawn in this order
    assert allocate(drawn, places) == [
        Outcome("A", 1, centre="DAM-02", start=f"{NEXT.isoformat()}T06:00:00Z"),
        Outcome("B", 2, waiting=1),  # DAM-02 is full and B wants nothing else
        Outcome("C", 3, centre="DAM-01", start=f"{DAY.isoformat()}T07:00:00Z"),  # 06:00 has none
    ]


def test_any_day_at_a_centre_is_its_earliest_day_with_a_place() -> None:
    places = slots("DAM-01", DAY, 1) + slots("DAM-01", NEXT, 2)
    outcomes = allocate(people(4), places)
    assert [o.start[:10] if o.start else None for o in outcomes] == [
        DAY.isoformat(),
        NEXT.isoformat(),
        NEXT.isoformat(),
        None,
    ]
    assert outcomes[3].waiting == 1


# Chi-square's 99.9% point for 19 degrees of freedom (20 applicants), from the tables.
CHI2_999_DF19 = 43.82


def test_every_applicant_has_the_same_chance_over_many_draws() -> None:
    """20 applicants, 5 places, 4,000 draws with different seeds: each should win 1,000 times. The
    counts must be as close to that as chance alone makes them (chi-square at 99.9%), and no
    applicant's chance may depend on their name or where they stand in the list."""
    applications = people(20)
    places = slots("DAM-01", DAY, 5)
    wins: Counter[str] = Counter()
    draws = 4000
    for n in range(draws):
        wins.update(o.pseudonym for o in run(seed(n), applications, places) if o.waiting is None)
    expected = draws * 5 / 20
    chi2 = sum((wins[a.pseudonym] - expected) ** 2 / expected for a in applications)
    assert chi2 < CHI2_999_DF19, (chi2, wins)


def test_the_first_place_goes_to_each_applicant_equally_often() -> None:
    applications = people(10)
    first: Counter[str] = Counter()
    draws = 3000
    for n in range(draws):
        first[order(seed(n), applications)[0].pseudonym] += 1
    expected = draws / 10
    chi2 = sum((first[a.pseudonym] - expected) ** 2 / expected for a in applications)
    assert chi2 < 27.88, first  # chi-square's 99.9% point for 9 degrees of freedom


def published(applications: list[Application], places: list[Place]) -> Record:
    secret = seed(42)
    return Record(commitment(secret), secret, applications, places, run(secret, applications, places))


def test_a_published_draw_verifies() -> None:
    record = published(people(50), slots("DAM-01", DAY, 4, 4))
    assert verify(record) == []


def test_a_seed_other_than_the_one_committed_to_is_caught() -> None:
    record = published(people(50), slots("DAM-01", DAY, 4, 4))
    assert verify(replace(record, seed=seed(43))) == [
        "the seed does not match the commitment published before the draw"
    ]


@pytest.mark.parametrize("tamper", ["result", "list", "added", "removed"])
def test_a_tampered_list_or_result_is_caught(tamper: str) -> None:
    record = published(people(50), slots("DAM-01", DAY, 4, 4))
    outcomes, applications = list(record.outcomes), list(record.applications)
    if tamper == "result":  # a waiting applicant swapped with a winner
        loser = next(i for i, o in enumerate(outcomes) if o.waiting is not None)
        outcomes[0], outcomes[loser] = (
            replace(outcomes[0], pseudonym=outcomes[loser].pseudonym),
            replace(outcomes[loser], pseudonym=outcomes[0].pseudonym),
        )
    elif tamper == "list":  # one applicant's choices changed after the draw: a new list, a new order
        applications[0] = replace(applications[0], choices=(Choice("DAM-01", DAY),))
    elif tamper == "added":  # an application slipped in after the close
        applications.append(Application("FFFF-0000-0000-0000", (Choice("DAM-01"),)))
    else:
        del applications[0]
    problems = verify(replace(record, applications=applications, outcomes=outcomes))
    assert problems
