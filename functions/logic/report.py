"""`hark scores`: a survey's scores as a table for a person."""

from __future__ import annotations

from functions.domain.charts import sparkline
from functions.domain.trend import headline
from functions.domain.windows import WINDOWS, window_span
from functions.logic import clock
from functions.logic.dashboard import weekly_trend
from functions.logic.scores import summary_view
from functions.store import core, scores

HEADLINE = {"nps": "nps", "csat": "csat", "ces": "ces", "csi": "csi"}
TREND_WEEKS = 12


def scores_table(survey_id: str, segment: str = "all") -> str:
    survey = core.get_survey(survey_id)
    if survey is None:
        return f"no survey {survey_id}"
    summary = scores.get_summary(survey_id, segment)
    field = HEADLINE[survey.kind.value]
    lines = [f"{survey.name} ({survey.kind.value}, segment {segment})", ""]
    lines.append(f"{'window':<8}{field:>8}{'responses':>11}{'invited':>9}")
    if summary is not None and summary.tenant_id == survey.tenant_id:
        today = clock.now().date()
        spans = [span for window in WINDOWS if (span := window_span(window, today)) is not None]
        summary = scores.load_parts([(survey_id, summary, *span) for span in spans])[(survey_id, segment)]
    for window in WINDOWS:
        view = summary_view(survey, summary, segment, window)
        value = "-" if view[field] is None else f"{view[field]:.1f}"
        lines.append(f"{window:<8}{value:>8}{view['responses']:>11}{view['invited']:>9}")
    weeks = weekly_trend(survey, TREND_WEEKS, segment)
    values = [headline(survey.kind, week.tally, survey.weights) for week in weeks]
    shown = [v for v in values if v is not None]
    ends = f"  {shown[0]:.1f} → {shown[-1]:.1f}" if shown else "  no answers"
    lines += ["", f"{field} by week, last {TREND_WEEKS} weeks", sparkline(values) + ends]
    return "\n".join(lines)
