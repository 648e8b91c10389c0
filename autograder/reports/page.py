"""The report as one self-contained HTML page: tables, and figures embedded as base64 PNG."""

from __future__ import annotations

import base64
import html

import pandas as pd

from .report import Figure, Report

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 2em; }
th, td { padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: left; font-size: 14px; }
th { background: #f3f3f3; }
figure { display: inline-block; margin: 0 1em 1.5em 0; vertical-align: top; }
figcaption { font-size: 13px; color: #555; }
img { max-width: 640px; border: 1px solid #eee; }
"""


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def figure_html(fig: Figure) -> str:
    caption = html.escape(fig.caption)
    return (f'<figure id="fig-{html.escape(fig.stem)}"><img src="{data_uri(fig.png)}" alt="{caption}">'
            f"<figcaption>{caption}</figcaption></figure>")


def table_html(frame: pd.DataFrame, css_class: str) -> str:
    if frame.empty:
        return "<p>(none)</p>"
    return frame.to_html(index=False, na_rep="", classes=css_class, border=0, escape=True,
                         float_format=lambda v: f"{v:.4g}")


def summary_html(report: Report) -> str:
    scores = report.scores
    if scores.empty:
        return "<p>0 submissions graded.</p>"
    totals = scores["total"].astype(float)
    pending = scores["pending_manual"].astype(float) if "pending_manual" in scores else None
    waiting = (f" {pending.sum():g} points of {int((pending > 0).sum())} submissions are awaiting "
               "manual grading (not counted in the totals yet)." if pending is not None and pending.any()
               else "")
    return (f"<p>{len(scores)} submissions graded; total points: mean {totals.mean():.2f}, "
            f"median {totals.median():.2f}, max {totals.max():.2f} of {scores['max_total'].max():g}; "
            f"{len(report.failures)} parts lost points with a reason.{html.escape(waiting)}</p>")


#: the most expensive submissions the page lists (the ``costs`` table has them all)
TOP_COSTS = 10


def _seconds(value) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{float(value):.1f} s"


def cost_html(report: Report, top: int = TOP_COSTS) -> str:
    """The assignment's cost in total, and its most expensive submissions."""
    totals = report.cost_totals
    if totals.empty:
        return "<p>(no costs recorded: results graded before costs were measured)</p>"
    t = totals.iloc[0]
    gpu = "" if pd.isna(t["total_gpu_s"]) else f", GPU {_seconds(t['total_gpu_s'])}"
    over = (f" {int(t['over_budget'])} submissions went over the cost budget." if t["over_budget"] else "")
    summary = (f"<p>{int(t['submissions'])} submissions cost in total: CPU {_seconds(t['total_cpu_s'])} "
               f"(student code {_seconds(t['student_cpu_s'])}, scoring {_seconds(t['scoring_cpu_s'])}), "
               f"wall {_seconds(t['total_wall_s'])}{gpu}; largest peak memory "
               f"{float(t['total_peak_memory_mb']):.0f} MB.{html.escape(over)}</p>")
    columns = ["student", "total_cpu_s", "total_wall_s", "total_peak_memory_mb", "total_gpu_s",
               "student_cpu_s", "scoring_cpu_s", "over_budget"]
    shown = report.costs.head(top)[columns]
    if shown["total_gpu_s"].isna().all():
        shown = shown.drop(columns="total_gpu_s")
    return (summary + f"<h3>Most expensive submissions (top {min(top, len(report.costs))} by CPU time)</h3>"
            + table_html(shown, "costs"))


def render_page(report: Report) -> str:
    """The whole page. Figures are grouped: scores first, then model pictures."""
    name = html.escape(report.assignment)
    figs = "".join(figure_html(f) for f in report.figures)
    notes = "".join(f"<p class='note'>{html.escape(n)}</p>" for n in report.notes)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Grading report: {name}</title>
<style>{_STYLE}</style></head><body>
<h1>Grading report: {name}</h1>
{summary_html(report)}
{notes}
<h2>Figures</h2>
{figs or "<p>(no figures: no results yet)</p>"}
<h2>Model metrics: reference and baseline</h2>
{table_html(report.models, "models")}
<h2>Scores</h2>
{table_html(report.scores, "scores")}
<h2>Failures</h2>
{table_html(report.failures, "failures")}
<h2>Runtime and device</h2>
{table_html(report.runs, "runs")}
<h2>Cost</h2>
{cost_html(report)}
</body></html>
"""
