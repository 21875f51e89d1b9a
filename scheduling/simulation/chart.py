"""The day in one picture: each queue's length and the people waiting in the hall (PNG)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def render_chart(results: dict[str, Any], path: Path) -> None:
    """Draws the sampled series of a run's results into a PNG file."""
    import matplotlib

    matplotlib.use("Agg")  # no display on a server, and the same pixels everywhere
    from matplotlib import pyplot

    series = results["series"]
    step_h = series["step_s"] / 3600
    day = results["mode"] == "day"
    hours = [i * step_h for i in range(len(series["hall"]))]
    figure, axes = pyplot.subplots(figsize=(10, 4.8), dpi=110)
    for code, values in series["waiting"].items():
        axes.step(hours, values, where="post", linewidth=1.2, label=f"waiting for {code}")
    axes.step(hours, series["hall"], where="post", linewidth=2.2, color="black", label="in the hall")
    peak = results["peak_hall"]
    axes.set_title(f"{results['scenario']}: peak {peak['people']} people in the hall at {peak['at']}")
    if day:  # the centre's local clock: the run starts at opening, "08:00"
        opens_h, opens_m = (int(part) for part in results["start"].split(":"))
        ticks = list(range(int(hours[-1]) + 2))
        axes.set_xticks(ticks, [f"{(opens_h + h) % 24:02d}:{opens_m:02d}" for h in ticks])
        axes.set_xlabel("centre-local time")
    else:
        axes.set_xlabel("hours since the start")
    axes.set_ylabel("people")
    axes.grid(alpha=0.3)
    axes.legend(loc="upper right", fontsize="small")
    axes.set_xlim(0, max(hours[-1], step_h))
    axes.set_ylim(bottom=0)
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)
