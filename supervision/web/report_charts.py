"""The reports as charts, rendered on the server as SVG (matplotlib, no script and no CDN in the
page). Text stays text in the SVG, so the browser shapes Arabic and the labels can be read out."""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from starlette.responses import Response

from config.i18n import N_, translations

if TYPE_CHECKING:
    from supervision.reports import AgentRowOut, ServiceRowOut

TEXTS = (
    N_("Served per period"),
    N_("No-shows"),
    N_("Mean wait of walk-ins (min)"),
    N_("Target"),
    N_("Hours per agent"),
    N_("Serving"),
    N_("Idle"),
    N_("Paused"),
    N_("Nothing in these days"),
)


def _style() -> AbstractContextManager[None]:
    # Text as <text> elements in the page's fonts, not glyph outlines: the browser shapes Arabic.
    return rc_context({"svg.fonttype": "none", "font.size": 11.0})


def _nothing(axes: Axes, text: str) -> None:
    """An empty chart says so, instead of axes around zero."""
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes, color="dimgray")
    axes.set_xticks([])
    axes.set_yticks([])


def _svg(figure: Figure) -> Response:
    out = io.StringIO()
    figure.savefig(out, format="svg")
    return Response(out.getvalue(), media_type="image/svg+xml")


def services_chart(rows: Sequence[ServiceRowOut], *, target_s: int, language: str) -> Response:
    """Above, each period's served tickets stacked by service, and the no-shows; below, each
    service's mean wait against the target."""
    _ = translations(language).gettext
    periods = sorted({r.period for r in rows})
    services = sorted({r.service for r in rows})
    served: dict[str, list[int]] = {s: [0] * len(periods) for s in services}
    waits: dict[str, list[float | None]] = {s: [None] * len(periods) for s in services}
    no_shows = [0] * len(periods)
    for r in rows:
        i = periods.index(r.period)
        served[r.service][i] = r.served
        waits[r.service][i] = r.mean_wait_s / 60 if r.mean_wait_s is not None else None
        no_shows[i] += r.no_show
    labels = [p.strftime("%m-%d") for p in periods]
    with _style():
        figure = Figure(figsize=(7, 5.5))
        count, wait = figure.subplots(2, 1, sharex=True)
        if not rows:
            count.set_title(_("Served per period"))
            wait.set_title(_("Mean wait of walk-ins (min)"))
            for axes in (count, wait):
                _nothing(axes, _("Nothing in these days"))
            figure.tight_layout()
            return _svg(figure)
        bottom = [0] * len(periods)
        for service in services:
            count.bar(labels, served[service], bottom=bottom, label=service)
            bottom = [b + v for b, v in zip(bottom, served[service], strict=True)]
        count.plot(labels, no_shows, "k.--", label=_("No-shows"))
        count.set_title(_("Served per period"))
        count.legend(fontsize="small", ncols=4)
        for service in services:
            wait.plot(labels, waits[service], marker="o", label=service)
        wait.axhline(target_s / 60, color="crimson", linestyle=":", label=_("Target"))
        wait.set_title(_("Mean wait of walk-ins (min)"))
        wait.set_ylim(bottom=0)
        wait.tick_params(axis="x", labelrotation=45)
        figure.tight_layout()
        return _svg(figure)


def agents_chart(rows: Sequence[AgentRowOut], *, language: str) -> Response:
    """Each agent's open hours split into serving, idle and paused (all reasons)."""
    _ = translations(language).gettext
    agents = [r.agent.removeprefix("staff:") for r in rows]
    parts: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        paused = sum(r.pause_s.values())
        parts["Paused"].append(paused / 3600)
        parts["Idle"].append(r.idle_s / 3600)
        parts["Serving"].append(max(0, r.open_s - r.idle_s - paused) / 3600)
    with _style():
        figure = Figure(figsize=(7, 1.6 + 0.5 * max(1, len(agents))))
        axes = figure.subplots()
        if not rows:
            axes.set_title(_("Hours per agent"))
            _nothing(axes, _("Nothing in these days"))
            figure.tight_layout()
            return _svg(figure)
        left = [0.0] * len(agents)
        for part, colour in (("Serving", "seagreen"), ("Idle", "silver"), ("Paused", "orange")):
            axes.barh(agents, parts[part], left=left, color=colour, label=_(part))
            left = [a + b for a, b in zip(left, parts[part], strict=True)]
        axes.set_title(_("Hours per agent"))
        axes.legend(fontsize="small", ncols=3)
        figure.tight_layout()
        return _svg(figure)
