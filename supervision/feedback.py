"""What citizens said after service (queueing/feedback.py): per service, counter and agent, the
number of answers and the mean rating, and the latest comments for managers; and a centre's public
figure (answers and mean over the last 30 days, no comments)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlmodel import Session, col, func, select

from config.schemas import UsageQuery
from config.sql import id_of
from organisation.models import Centre, Counter, Service, Staff
from queueing.models import Feedback
from supervision.reports import local_days

LATEST_COMMENTS = 20
PUBLIC_DAYS = 30


class FeedbackQuery(UsageQuery):
    format: Literal["json", "csv"] = "json"


class RatingRowOut(BaseModel):
    by: Literal["service", "counter", "agent"]
    key: str = Field(description="the service's code, the counter's number or the agent's username")
    answers: int
    mean_rating: float = Field(description="1 very bad to 5 very good, to two decimals")


class CommentOut(BaseModel):
    given_at: datetime = Field(description="in the centre's time zone")
    service: str
    counter: int | None
    rating: int
    comment: str


class FeedbackReportOut(BaseModel):
    rows: list[RatingRowOut]
    comments: list[CommentOut] = Field(description=f"the latest {LATEST_COMMENTS}, newest first")


class PublicFeedbackOut(BaseModel):
    days: int = PUBLIC_DAYS
    answers: int
    mean_rating: float | None


def feedback_report(session: Session, *, centre: Centre, first: date, last: date) -> FeedbackReportOut:
    """The answers given on the centre's local days `first` to `last`, grouped three ways."""
    start, end = local_days(first, last, centre.timezone)
    answers = session.exec(
        select(Feedback, Service.code, Counter.number, Staff.username)
        .join(Service, col(Service.id) == Feedback.service_id)
        .join(Counter, col(Counter.id) == Feedback.counter_id, isouter=True)
        .join(Staff, col(Staff.id) == Feedback.agent_id, isouter=True)
        .where(
            Feedback.centre_id == id_of(centre), col(Feedback.given_at) >= start, col(Feedback.given_at) < end
        )
        .order_by(col(Feedback.given_at).desc(), col(Feedback.id).desc())
    ).all()
    groups: defaultdict[tuple[str, str], list[int]] = defaultdict(list)
    for answer, service, counter, agent in answers:
        groups["service", service].append(answer.rating)
        if counter is not None:
            groups["counter", str(counter)].append(answer.rating)
        if agent is not None:
            groups["agent", agent].append(answer.rating)
    order = {"service": 0, "counter": 1, "agent": 2}
    rows = [
        RatingRowOut(by=by, key=key, answers=len(ratings), mean_rating=round(statistics.fmean(ratings), 2))
        for (by, key), ratings in sorted(
            groups.items(), key=lambda item: (order[item[0][0]], item[0][1].zfill(8))
        )
    ]
    zone = ZoneInfo(centre.timezone)
    comments = [
        CommentOut(
            given_at=answer.given_at.astimezone(zone),
            service=service,
            counter=counter,
            rating=answer.rating,
            comment=answer.comment,
        )
        for answer, service, counter, _ in answers
        if answer.comment
    ][:LATEST_COMMENTS]
    return FeedbackReportOut(rows=rows, comments=comments)


def public_feedback(session: Session, *, centre: Centre, now: datetime) -> PublicFeedbackOut:
    """How many answered at the centre over the last 30 days, and their mean rating: no comments."""
    answers, mean = session.exec(
        select(func.count(), func.avg(Feedback.rating)).where(
            Feedback.centre_id == id_of(centre), col(Feedback.given_at) >= now - timedelta(days=PUBLIC_DAYS)
        )
    ).one()
    return PublicFeedbackOut(answers=answers, mean_rating=round(float(mean), 2) if answers else None)
