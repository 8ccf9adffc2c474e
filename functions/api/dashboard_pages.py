"""Dashboard pages: server-rendered HTML and inline SVG, no script, phone first.

Served with the customer pages' headers (a nonce-only Content-Security-Policy, no-referrer,
no-store, frame-ancestors none). Every text from surveys, segments and comments is escaped.
Links and forms are relative, so the pages work under any host or API stage prefix.
"""

from __future__ import annotations

import secrets
from html import escape

from chalice.app import Response

from functions.api.pages import page_headers
from functions.domain.charts import distribution_svg, tone, trend_svg
from functions.domain.kinds import Kind
from functions.domain.survey import Survey
from functions.domain.trend import headline_range
from functions.domain.windows import WINDOWS
from functions.logic.dashboard import Comment, SegmentRow, SurveyPage

WINDOW_WORDS = {
    "7d": "last 7 days",
    "30d": "last 30 days",
    "90d": "last 90 days",
    "365d": "last 365 days",
    "all": "all time",
}
INTERVAL_WORDS = {"day": "day", "week": "week", "month": "month"}
TONE_WORDS = {
    Kind.NPS: {"low": "Detractor", "mid": "Passive", "high": "Promoter"},
}
OTHER_TONE_WORDS = {"low": "Low score", "mid": "Neutral", "high": "High score"}

_STYLE = """
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#1b1f24;background:#f6f7f9}.top{display:flex;align-items:center;justify-content:space-between;
gap:.5rem;padding:.6rem 1rem;background:#fff;border-top:6px solid #0b57d0;border-bottom:1px solid #d8dee4}
.top form{margin:0}.brand{font-weight:700;color:#1b1f24;text-decoration:none}
main{max-width:48rem;margin:0 auto;padding:1rem}h1{font-size:1.4rem;margin:.25rem 0}
h2{font-size:1.1rem;margin:0 0 .5rem}section{background:#fff;border:1px solid #d8dee4;border-radius:.5rem;
padding:1rem;margin:1rem 0}.note{color:#454c54}a{color:#0b57d0}
a:focus-visible,button:focus-visible,input:focus-visible,summary:focus-visible{outline:3px solid #0b57d0;
outline-offset:2px}button{font:inherit;font-weight:600;padding:.55rem 1rem;border:2px solid #1b1f24;
border-radius:.4rem;background:#0b57d0;color:#fff;cursor:pointer}.top button{background:#fff;color:#1b1f24;
padding:.35rem .8rem}label{display:block;font-weight:600;margin-bottom:.3rem}
input[type=password],input[type=text],input[type=email],textarea,select{display:block;width:100%;
font:inherit;padding:.6rem;border:2px solid #59636e;border-radius:.4rem;margin-bottom:1rem;background:#fff;
color:#1b1f24}textarea{min-height:6rem}textarea:focus-visible,select:focus-visible{outline:3px solid #0b57d0;
outline-offset:2px}button.secondary{background:#fff;color:#1b1f24}.actions{display:flex;flex-wrap:wrap;
gap:.5rem}.actions form{margin:0}.ok{color:#116329;font-weight:600}.badge.overdue{background:#a40e26;
color:#fff}ol.inbox{list-style:none;padding:0;margin:0}ol.inbox li{border-left:4px solid #d8dee4;
padding:.4rem .75rem;margin:.6rem 0}ol.inbox li.overdue{border-color:#cf222e}ol.inbox p{margin:.2rem 0}
ol.inbox .text{white-space:pre-line;overflow-wrap:anywhere}ul.tags{display:flex;flex-wrap:wrap;gap:.4rem;
list-style:none;padding:0}ul.tags li{background:#eaeef2;border-radius:1rem;padding:.1rem .6rem}
#answers caption{text-align:left;font-weight:600}.error{color:#a40e26;font-weight:600}
nav.windows{display:flex;flex-wrap:wrap;gap:.4rem;margin:.75rem 0}nav.windows a{padding:.3rem .7rem;
border:1px solid #59636e;border-radius:1rem;text-decoration:none;color:#1b1f24;background:#fff}
nav.windows a[aria-current=page]{background:#1b1f24;color:#fff;border-color:#1b1f24}
.headline{display:flex;flex-wrap:wrap;align-items:baseline;gap:.5rem;margin:.25rem 0}
.score{font-size:2.6rem;font-weight:700;line-height:1.1}.moe{font-size:1.1rem;color:#454c54}
.chart{display:block;width:100%;height:auto}table{width:100%;border-collapse:collapse}
th,td{text-align:left;padding:.35rem .4rem;border-bottom:1px solid #d8dee4}
td.n,th.n{text-align:right;white-space:nowrap}
table.question{margin-bottom:1rem}table.question caption{text-align:start;font-weight:600;padding:.25rem 0}
details{margin-top:.5rem}summary{cursor:pointer;color:#0b57d0}ol.comments{list-style:none;padding:0;margin:0}
.comments li{border-left:4px solid #d8dee4;padding:.4rem .75rem;margin:.6rem 0}
.comments li.low{border-color:#cf222e}
.comments .text{margin:.2rem 0;white-space:pre-line;overflow-wrap:anywhere}.meta{margin:0;font-size:.9rem;
color:#454c54;overflow-wrap:anywhere}.badge{display:inline-block;font-weight:700;font-size:.8rem;
padding:.05rem .45rem;border-radius:.3rem}.badge.low{background:#ffebe9;color:#a40e26}
.badge.mid{background:#eaeef2;color:#424a53}.badge.high{background:#dafbe1;color:#116329}
ul.surveys{padding:0;list-style:none}
ul.surveys li{background:#fff;border:1px solid #d8dee4;border-radius:.5rem;
padding:.75rem 1rem;margin:.5rem 0}.vh{position:absolute;width:1px;height:1px;overflow:hidden;
clip:rect(0 0 0 0);white-space:nowrap}
"""


def _document(title: str, body: str, nonce: str, home: str, sign_out: str | None) -> str:
    out = (
        f'<form method="post" action="{escape(sign_out)}"><button type="submit">Sign out</button></form>'
        if sign_out
        else ""
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex,nofollow"><link rel="icon" href="data:,">'
        f'<title>{escape(title)}</title><style nonce="{nonce}">{_STYLE}</style></head>'
        f'<body><header class="top"><a class="brand" href="{escape(home)}">Hark dashboard</a>{out}</header>'
        f'<main id="main">{body}</main></body></html>'
    )


def _page(title: str, body: str, status: int, home: str, sign_out: str | None) -> Response:
    nonce = secrets.token_urlsafe(16)
    return Response(
        body=_document(title, body, nonce, home, sign_out), status_code=status, headers=page_headers(nonce)
    )


def sign_in_page(action: str, home: str, message: str | None = None, status: int = 200) -> Response:
    """The sign-in form. The key field is always empty: a key is never written into a page."""
    problem = f'<p class="error" role="alert" id="problem">{escape(message)}</p>' if message else ""
    described = ' aria-describedby="problem"' if message else ""
    body = (
        "<h1>Sign in</h1>"
        '<p class="note">Sign in with an API key that has the <code>scores:read</code> scope. '
        "The key is exchanged for a session that lasts an hour; Hark does not put the key "
        "in a page or a cookie.</p>"
        f'{problem}<form method="post" action="{escape(action)}">'
        '<label for="api_key">API key</label>'
        f'<input id="api_key" name="api_key" type="password" autocomplete="off" spellcheck="false" '
        f'required placeholder="hk_live_…"{described}>'
        '<button type="submit">Sign in</button></form>'
    )
    return _page("Sign in · Hark dashboard", body, status, home, None)


def survey_list_page(surveys: list[Survey], inbox: bool = False) -> Response:
    items = "".join(
        f'<li><a href="dashboard/surveys/{escape(s.id)}">{escape(s.name)}</a> '
        f'<span class="note">· {escape(s.kind.value.upper())}{" · archived" if s.status != "active" else ""}'
        "</span></li>"
        for s in surveys
    )
    listing = (
        f'<ul class="surveys">{items}</ul>'
        if surveys
        else '<p class="note">No surveys yet. Create one with <code>POST /v1/surveys</code>.</p>'
    )
    # The follow-up inbox, for a key that may read responses (docs/follow-ups.md).
    loop = (
        '<p><a href="dashboard/follow-ups">Follow-ups</a>: answers waiting for an answer back</p>'
        if inbox
        else ""
    )
    body = f"<h1>Surveys</h1>{loop}{listing}"
    return _page("Surveys · Hark dashboard", body, 200, "dashboard", "dashboard/signout")


def _number(value: float | None, suffix: str = "") -> str:
    return "–" if value is None else f"{value:.1f}{suffix}"


def _headline_label(kind: Kind) -> str:
    return kind.value.upper()


def _percent_suffix(kind: Kind) -> str:
    return "%" if kind in (Kind.CSAT, Kind.CES) else ""


def _score_section(view: SurveyPage) -> str:
    kind = view.survey.kind
    summary = view.summary
    value = summary[kind.value]
    moe = summary.get("margin_of_error")
    moe_html = (
        f'<span class="moe" id="moe">± {moe:.1f} <span class="note">(95% margin of error)</span></span>'
        if moe is not None
        else ""
    )
    rate = summary.get("response_rate")
    facts = [f'<span id="responses">{summary["responses"]:,}</span> responses']
    if summary.get("invited"):
        facts.append(f"{summary['invited']:,} invited")
    if rate is not None:
        facts.append(f"response rate {rate:.1f}%")
    detail = ""
    if kind is Kind.NPS and summary["responses"]:
        detail = (
            f'<p class="note">Promoters {_number(summary["promoter_percent"], "%")} · '
            f"Passives {_number(summary['passive_percent'], '%')} · "
            f"Detractors {_number(summary['detractor_percent'], '%')}</p>"
        )
    elif kind is not Kind.NPS and summary.get("mean") is not None:
        detail = f'<p class="note">Mean answer {summary["mean"]:.2f}</p>'
    if kind is Kind.CSI:
        rows = "".join(
            f'<tr><td>{escape(str(a["key"]))}</td><td class="n">{_number(a["mean"])}</td>'
            f'<td class="n">{_number(a["index"])}</td><td class="n">{a["weight"]:g}</td></tr>'
            for a in summary.get("attributes") or ()
        )
        detail += (
            '<table><thead><tr><th scope="col">Attribute</th><th scope="col" class="n">Mean</th>'
            f'<th scope="col" class="n">Index</th><th scope="col" class="n">Weight</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>"
        )
    return (
        f'<section aria-labelledby="score-h"><h2 id="score-h">Score, {WINDOW_WORDS[view.window]}</h2>'
        f'<p class="headline"><span class="score" id="score">{_headline_label(kind)} '
        f"{_number(value, _percent_suffix(kind))}</span>{moe_html}</p>"
        f'<p class="note">{" · ".join(facts)}</p>{detail}</section>'
    )


def _trend_section(view: SurveyPage) -> str:
    kind = view.survey.kind
    low, high = headline_range(kind)
    label = _headline_label(kind)
    interval = INTERVAL_WORDS[view.interval]
    title = f"{label} by {interval}, {WINDOW_WORDS[view.window]}"
    shown = [p for p in view.trend if p.value is not None]
    if shown:
        description = (
            f"{len(view.trend)} {interval}s from {view.trend[0].long_label} to {view.trend[-1].long_label}; "
            f"{len(shown)} with answers; latest {shown[-1].long_label}: {_number(shown[-1].value)} "
            f"({shown[-1].responses} responses). The shaded band is the 95% margin of error"
            f"; {sum(1 for p in view.trend if p.significant)} significant changes are marked with triangles."
        )
    else:
        description = "No answers in this period."
    rows = "".join(
        f'<tr><td>{escape(p.long_label)}</td><td class="n">{_number(p.value)}</td>'
        f'<td class="n">{p.responses:,}</td><td class="n">{_number(p.margin)}</td>'
        f"<td>{'significant' if p.significant else ''}</td></tr>"
        for p in view.trend
    )
    return (
        f'<section aria-labelledby="trend-h"><h2 id="trend-h">Trend</h2>'
        f"{trend_svg(view.trend, low, high, title, description)}"
        "<details><summary>Show the numbers</summary>"
        f'<table id="trend-table"><caption class="vh">{escape(title)}</caption><thead><tr>'
        f'<th scope="col">{escape(interval.capitalize())}</th><th scope="col" class="n">{label}</th>'
        f'<th scope="col" class="n">Responses</th><th scope="col" class="n">± (95%)</th>'
        f'<th scope="col">Change</th></tr></thead><tbody>{rows}</tbody></table></details>'
        "</section>"
    )


def _distribution_section(view: SurveyPage) -> str:
    title = f"Answers by score, {WINDOW_WORDS[view.window]}"
    return (
        '<section aria-labelledby="answers-h"><h2 id="answers-h">Answers</h2>'
        f"{distribution_svg(view.distribution, title)}</section>"
    )


def _questions_section(view: SurveyPage) -> str:
    """Each select and scale question's answers per option (docs/questions.md); free responses
    are stored with the responses, not counted."""
    counted = view.summary.get("additional") or {}
    tables = []
    for question in view.survey.questions:
        options = counted.get(question.key)
        if options is None:
            continue
        total = sum(options.values())
        rows = "".join(
            f'<tr><td>{escape(option)}</td><td class="n">{n:,}</td>'
            f'<td class="n">{_number(None if not total else round(100 * n / total, 1), "%")}</td></tr>'
            for option, n in options.items()
        )
        caption = f"<caption>{escape(question.text)}</caption>"
        tables.append(
            f'<table class="question" id="q-{escape(question.key)}">{caption}'
            '<thead><tr><th scope="col">Answer</th><th scope="col" class="n">Answers</th>'
            f'<th scope="col" class="n">Share</th></tr></thead><tbody>{rows}</tbody></table>'
        )
    if not tables:
        return ""
    note = (
        f'<p class="note">{WINDOW_WORDS[view.window].capitalize()}; a customer may choose several '
        "options of a multiple-choice question, so its shares are of choices.</p>"
    )
    return (
        '<section aria-labelledby="questions-h"><h2 id="questions-h">Additional questions</h2>'
        f"{note}{''.join(tables)}</section>"
    )


def _segments_section(view: SurveyPage, rows: list[SegmentRow]) -> str:
    label = _headline_label(view.survey.kind)
    if not rows:
        content = (
            '<p class="note">No channel, language, touchpoint or property segments with answers '
            "in this window.</p>"
        )
    else:
        body = "".join(
            f'<tr><td>{escape(r.group)}: {escape(r.value)}</td><td class="n">{r.responses:,}</td>'
            f'<td class="n">{_number(r.score, _percent_suffix(view.survey.kind))}'
            f"{'' if r.margin_of_error is None else f' ± {r.margin_of_error:.1f}'}</td></tr>"
            for r in rows
        )
        content = (
            f'<table id="segments"><caption class="vh">Segments, {WINDOW_WORDS[view.window]}</caption>'
            '<thead><tr><th scope="col">Segment</th><th scope="col" class="n">Responses</th>'
            f'<th scope="col" class="n">{label}</th></tr></thead><tbody>{body}</tbody></table>'
        )
    return f'<section aria-labelledby="segments-h"><h2 id="segments-h">Segments</h2>{content}</section>'


def _comment(kind: Kind, comment: Comment) -> str:
    level = tone(kind, comment.score)
    word = TONE_WORDS.get(kind, OTHER_TONE_WORDS)[level]
    day = comment.answered_at[:10]
    badge = f'<span class="badge {level}">{escape(word)} · {comment.score}</span>'
    when = f'<time datetime="{escape(comment.answered_at)}">{escape(day)}</time>'
    return (
        f'<li class="{level}"><p class="meta">{badge} {when} · {escape(comment.customer_id)}</p>'
        f'<p class="text">{escape(comment.comment)}</p></li>'
    )


def _comments_section(view: SurveyPage) -> str:
    if not view.comments_shown:
        content = (
            '<p class="note">Comments and customer ids are shown to an API key with the '
            "<code>responses:read</code> scope; this key reads scores only.</p>"
        )
    elif view.comments:
        items = "".join(_comment(view.survey.kind, c) for c in view.comments)
        content = f'<ol class="comments" id="comments">{items}</ol>'
    else:
        content = '<p class="note">No comments yet.</p>'
    return (
        f'<section aria-labelledby="comments-h"><h2 id="comments-h">Latest comments</h2>{content}</section>'
    )


def survey_page(view: SurveyPage) -> Response:
    survey = view.survey
    current = ' aria-current="page"'
    windows = "".join(
        f'<a href="?window={w}"{current if w == view.window else ""}>{escape(w)}</a>' for w in WINDOWS
    )
    body = (
        f'<p class="note"><a href="../../dashboard">All surveys</a></p><h1>{escape(survey.name)}</h1>'
        f'<p class="note">{escape(survey.kind.value.upper())} · {escape(survey.question)}</p>'
        f'<nav class="windows" aria-label="Time window">{windows}</nav>'
        f"{_score_section(view)}{_trend_section(view)}{_distribution_section(view)}"
        f"{_questions_section(view)}{_segments_section(view, view.segments)}{_comments_section(view)}"
    )
    return _page(f"{survey.name} · Hark dashboard", body, 200, "../../dashboard", "../signout")


ERRORS = {
    400: ("That did not work", "The request was not one this page sends."),
    403: ("Not allowed", "This form was sent from another site, so it was refused."),
    404: ("Survey not found", "There is no such survey in your account."),
    503: ("One moment, please", "The dashboard is busy. Please try again in a few seconds."),
}


def error_page(status: int, home: str, message: str | None = None, title: str | None = None) -> Response:
    default_title, text = ERRORS.get(status, ("Something is not right", "Please try again."))
    title = title or default_title
    body = (
        f"<h1>{escape(title)}</h1><p>{escape(message or text)}</p>"
        f'<p><a href="{escape(home)}">Back to the dashboard</a></p>'
    )
    response = _page(f"{title} · Hark dashboard", body, status, home, None)
    if status == 503:
        response.headers["Retry-After"] = "2"
    return response
