"""The follow-up inbox and response page: server-rendered HTML, no script, phone first.

Same document, headers and style as the other dashboard pages (functions/api/dashboard_pages.py).
Every form posts to the page's own response (relative actions) and is answered with a 303 back
to the page (post/redirect/get); a refused form is answered with the page again, its status
(400, 403, 404, 409) and the reason next to the form. Every text is escaped.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from chalice.app import Response

from functions.api.dashboard_pages import OTHER_TONE_WORDS, TONE_WORDS, _page
from functions.domain.charts import tone
from functions.domain.kinds import Kind
from functions.logic.dashboard_follow_ups import STATUS_WORDS, Inbox, ResponsePage

# What a successful form says when the page comes back (?done=…).
DONE = {
    "owner": "The owner is saved.",
    "status": "The status is saved.",
    "tags": "The tags are saved.",
    "note": "The note is added.",
    "reply": "The reply is on its way; it is kept in the notes.",
}
FORMS = ("owner", "status", "tags", "note", "reply")


def _tone_badge(kind_text: str, score: int) -> str:
    try:
        kind = Kind(kind_text)
    except ValueError:
        return f'<span class="badge mid">{score}</span>'
    level = tone(kind, score)
    word = TONE_WORDS.get(kind, OTHER_TONE_WORDS)[level]
    return f'<span class="badge {level}">{escape(word)} · {score}</span>'


def _when(iso: str | None) -> str:
    if not iso:
        return "–"
    shown = f"{iso[:10]} {iso[11:16]} UTC" if len(iso) >= 16 else iso
    return f'<time datetime="{escape(iso)}">{escape(shown)}</time>'


def _due(follow_up: dict[str, Any]) -> str:
    overdue = '<span class="badge overdue">Overdue</span> ' if follow_up.get("overdue") else ""
    return f"{overdue}due {_when(follow_up.get('due_at'))}"


# ---- the inbox --------------------------------------------------------------------------------


def _inbox_row(inbox: Inbox, row: dict[str, Any]) -> str:
    fu = row["follow_up"] or {}
    owner = escape(fu.get("owner") or "nobody")
    comment = (row.get("comment") or "").strip()
    excerpt = (
        f'<p class="text">{escape(comment[:200])}{"…" if len(comment) > 200 else ""}</p>' if comment else ""
    )
    overdue = " overdue" if fu.get("overdue") else ""
    return (
        f'<li class="fu{overdue}"><p class="meta">{_due(fu)} · '
        f"{escape(STATUS_WORDS.get(str(fu.get('status')), ''))} · owner {owner}</p>"
        f'<p><a href="responses/{quote(row["id"], safe="")}">'
        f"{_tone_badge(row.get('survey_kind') or '', row['score'])} "
        f"{escape(row['customer_id'])}</a> "
        f'<span class="note">· {escape(inbox.survey_name(row["survey_id"]))}</span></p>{excerpt}</li>'
    )


def inbox_page(inbox: Inbox) -> Response:
    options = "".join(
        f'<option value="{escape(s.id)}"{" selected" if s.id == inbox.survey_id else ""}>'
        f"{escape(s.name)}</option>"
        for s in inbox.surveys
    )
    filters = (
        '<form method="get" action="follow-ups" class="filters" aria-label="Filter follow-ups">'
        '<label for="owner">Owner</label>'
        f'<input id="owner" name="owner" type="text" value="{escape(inbox.owner or "")}" '
        'autocomplete="off" maxlength="120">'
        '<label for="survey_id">Survey</label>'
        f'<select id="survey_id" name="survey_id"><option value="">All surveys</option>{options}</select>'
        '<button type="submit">Filter</button></form>'
    )
    if inbox.rows:
        listing = f'<ol class="inbox" id="inbox">{"".join(_inbox_row(inbox, r) for r in inbox.rows)}</ol>'
    else:
        listing = '<p class="note" id="inbox-empty">No open follow-ups. Nothing is waiting for an answer.</p>'
    more = ""
    if inbox.next_cursor:
        query = {"owner": inbox.owner or "", "survey_id": inbox.survey_id or "", "cursor": inbox.next_cursor}
        more = f'<p><a href="follow-ups?{escape(urlencode(query))}">Next page</a></p>'
    overdue = sum(1 for r in inbox.rows if (r["follow_up"] or {}).get("overdue"))
    body = (
        '<p class="note"><a href="../dashboard">All surveys</a></p><h1>Follow-ups</h1>'
        '<p class="note">Open and in-progress follow-ups, oldest due first'
        f"{f'; {overdue} overdue' if overdue else ''}.</p>"
        f'<section aria-labelledby="filter-h"><h2 id="filter-h">Filter</h2>{filters}</section>'
        f'<section aria-labelledby="list-h"><h2 id="list-h">Waiting</h2>{listing}{more}</section>'
    )
    return _page("Follow-ups · Hark dashboard", body, 200, "../dashboard", "signout")


# ---- one response -----------------------------------------------------------------------------


def _problem(form: str, errors: dict[str, str]) -> tuple[str, str]:
    """The error shown next to `form` (if it failed) and the aria-describedby that points at it."""
    message = errors.get(form)
    if not message:
        return "", ""
    return (
        f'<p class="error" role="alert" id="{form}-problem">{escape(message)}</p>',
        f' aria-describedby="{form}-problem"',
    )


def _follow_up_section(view: ResponsePage, action: str, errors: dict[str, str]) -> str:
    fu = view.view["follow_up"]
    if fu is None:
        problems = "".join(_problem(name, errors)[0] for name in ("owner", "status"))
        return (
            f'<section aria-labelledby="fu-h"><h2 id="fu-h">Follow-up</h2>{problems}<p class="note" '
            'id="no-follow-up">This answer did not open a follow-up (it does not match the survey\'s '
            "follow-up rule). Notes and tags can still be added.</p></section>"
        )
    facts = (
        f'<p id="fu-status"><strong>{escape(STATUS_WORDS.get(fu["status"], fu["status"]))}</strong> · '
        f"{_due(fu) if fu['status'] != 'closed' else 'closed ' + _when(fu.get('closed_at'))}</p>"
        f'<p class="note">Opened {_when(fu.get("opened_at"))} · owner <span id="fu-owner">'
        f"{escape(fu.get('owner') or 'nobody')}</span>"
        f"{' · the answer no longer matches the rule' if fu.get('no_longer_matching') else ''}</p>"
    )
    # A refused form whose controls are not shown (a closed follow-up's) still says why.
    forms = "".join(_problem(name, errors)[0] for name in ("owner", "status"))
    if view.can_write and fu["status"] != "closed":
        owner_problem, owner_described = _problem("owner", errors)
        status_problem, _ = _problem("status", errors)
        other = "open" if fu["status"] == "in_progress" else "in_progress"
        other_word = "Hand back (open)" if other == "open" else "Start (in progress)"
        forms = (
            f'<form method="post" action="{action}/owner">{owner_problem}'
            '<label for="owner">Owner</label>'
            f'<input id="owner" name="owner" type="text" value="{escape(fu.get("owner") or "")}" '
            f'autocomplete="off" maxlength="120"{owner_described}>'
            '<button type="submit">Save owner</button></form>'
            f'{status_problem}<div class="actions">'
            f'<form method="post" action="{action}/status">'
            f'<input type="hidden" name="status" value="{other}">'
            f'<button type="submit" class="secondary">{other_word}</button></form>'
            f'<form method="post" action="{action}/status">'
            '<input type="hidden" name="status" value="closed">'
            '<button type="submit">Close follow-up</button></form></div>'
        )
    return f'<section aria-labelledby="fu-h"><h2 id="fu-h">Follow-up</h2>{facts}{forms}</section>'


def _answer_section(view: ResponsePage) -> str:
    v = view.view
    comment = (
        f'<p class="text" id="comment">{escape(v["comment"])}</p>'
        if v.get("comment")
        else '<p class="note">No comment.</p>'
    )
    answers = ""
    if view.answers:
        rows = "".join(
            f'<tr><th scope="row">{escape(q)}</th><td>{escape(a)}</td></tr>' for q, a in view.answers
        )
        answers = f'<table id="answers"><caption>Additional answers</caption><tbody>{rows}</tbody></table>'
    survey = view.survey.name if view.survey else v["survey_id"]
    question = f'<p class="note">{escape(view.survey.question)}</p>' if view.survey else ""
    return (
        f'<section aria-labelledby="answer-h"><h2 id="answer-h">Answer</h2>'
        f'<p class="headline"><span class="score" id="score">{v["score"]}</span> '
        f"{_tone_badge(v.get('survey_kind') or '', v['score'])}</p>"
        f"{question}{comment}{answers}"
        f'<p class="meta">{escape(survey)} · {escape(v["channel"])}'
        f"{' · ' + escape(v['touchpoint']) if v.get('touchpoint') else ''}"
        f" · answered {_when(v.get('created_at'))}</p>"
        "</section>"
    )


def _tags_section(view: ResponsePage, action: str, errors: dict[str, str]) -> str:
    tags = view.view["tags"]
    shown = (
        '<ul class="tags" id="tags">' + "".join(f"<li>{escape(t)}</li>" for t in tags) + "</ul>"
        if tags
        else '<p class="note">No tags.</p>'
    )
    return _listed_section(
        view,
        action,
        errors,
        "tags",
        "Tags",
        shown,
        "tags",
        lambda described: (
            '<label for="tags-field">Tags, separated by commas</label>'
            f'<input id="tags-field" name="tags" type="text" value="{escape(", ".join(tags))}" '
            f'autocomplete="off"{described}><button type="submit">Save tags</button>'
        ),
    )


def _listed_section(
    view: ResponsePage,
    action: str,
    errors: dict[str, str],
    section: str,
    title: str,
    shown: str,
    form_name: str,
    fields: Callable[[str], str],
) -> str:
    """A section of the response page: its title, what it lists (`shown`) and, for a key that
    may write, the form posting to `action/form_name` (its `fields`, given the
    aria-describedby of the form's error, if it failed)."""
    form = ""
    if view.can_write:
        problem, described = _problem(form_name, errors)
        form = f'<form method="post" action="{action}/{form_name}">{problem}{fields(described)}</form>'
    return f'<section aria-labelledby="{section}-h"><h2 id="{section}-h">{title}</h2>{shown}{form}</section>'


def _note(note: dict[str, Any]) -> str:
    kind = "Reply" if note.get("kind") == "reply" else "Note"
    state = ""
    if note.get("reply"):
        state = f" · {escape(str(note['reply'].get('status') or ''))}"
    return (
        f'<li class="{escape(note.get("kind") or "note")}"><p class="meta">{kind}{state} · '
        f"{escape(note.get('author') or '')} · {_when(note.get('created_at'))}</p>"
        f'<p class="text">{escape(note["text"])}</p></li>'
    )


def _notes_section(view: ResponsePage, action: str, errors: dict[str, str], form: dict[str, str]) -> str:
    notes = view.view["notes"]
    shown = (
        f'<ol class="comments" id="notes">{"".join(_note(n) for n in notes)}</ol>'
        if notes
        else '<p class="note">No notes yet.</p>'
    )
    return _listed_section(
        view,
        action,
        errors,
        "notes",
        "Notes",
        shown,
        "note",
        lambda described: (
            '<label for="note-text">Add a note</label>'
            f'<textarea id="note-text" name="text" maxlength="2000"{described}>'
            f"{escape(form.get('note_text', ''))}</textarea>"
            '<button type="submit">Add note</button>'
        ),
    )


def _reply_section(view: ResponsePage, action: str, errors: dict[str, str], form: dict[str, str]) -> str:
    if not view.can_write:
        return ""
    problem, described = _problem("reply", errors)
    return (
        '<section aria-labelledby="reply-h"><h2 id="reply-h">Reply to the customer</h2>'
        '<p class="note">Sent by email from the survey\'s sender and kept as a note. Hark keeps no '
        "address after a survey is sent: give the customer's email unless their person record has one.</p>"
        f'<form method="post" action="{action}/reply">{problem}'
        '<label for="reply-email">Customer\'s email</label>'
        f'<input id="reply-email" name="email" type="email" autocomplete="off" maxlength="254" '
        f'value="{escape(form.get("reply_email", ""))}"{described}>'
        '<label for="reply-subject">Subject (optional)</label>'
        f'<input id="reply-subject" name="subject" type="text" autocomplete="off" maxlength="120" '
        f'value="{escape(form.get("reply_subject", ""))}">'
        '<label for="reply-text">Reply</label>'
        f'<textarea id="reply-text" name="text" maxlength="2000"{described}>'
        f"{escape(form.get('reply_text', ''))}</textarea>"
        '<button type="submit">Send reply</button></form></section>'
    )


def _follow_up_word(status: str | None) -> str:
    return f" · follow-up {escape(STATUS_WORDS.get(status, status))}" if status else ""


def _comment(text: str | None) -> str:
    return f'<p class="text">{escape(text)}</p>' if text else ""


def _others_section(view: ResponsePage, up: str) -> str:
    if not view.others:
        content = '<p class="note">No other answers from this customer.</p>'
    else:
        items = "".join(
            f'<li><p class="meta">{_tone_badge(o.kind, o.score)} {_when(o.answered_at)} · '
            f"{escape(o.survey_name)}"
            f"{_follow_up_word(o.follow_up_status)}"
            f' · <a href="{up}responses/{quote(o.response_id, safe="")}">Open</a></p>'
            f"{_comment(o.comment)}</li>"
            for o in view.others
        )
        content = f'<ol class="comments" id="others">{items}</ol>'
    return (
        f'<section aria-labelledby="others-h"><h2 id="others-h">Their other answers</h2>{content}</section>'
    )


def response_page(
    view: ResponsePage,
    done: str | None = None,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
    depth: int = 0,
) -> Response:
    """The response page; `errors` maps a form (owner, status, tags, note, reply) to why it was
    refused, and `form` keeps what was typed into the note and reply boxes. `depth` 1 renders it
    at a form's own address (/dashboard/responses/{id}/{form}), so relative links still lead home."""
    errors = errors or {}
    form = form or {}
    up = "../" * (depth + 1)  # back to /dashboard/
    action = f"{up}responses/{quote(view.view['id'], safe='')}"
    flash = f'<p class="ok" role="status" id="done">{escape(DONE[done])}</p>' if done in DONE else ""
    read_only = (
        ""
        if view.can_write
        else '<p class="note" id="read-only">This API key reads follow-ups; working them (owner, status, '
        "tags, notes, replies) needs the <code>follow_ups:write</code> scope.</p>"
    )
    v = view.view
    body = (
        f'<p class="note"><a href="{up}follow-ups">Follow-ups</a></p>'
        f"<h1>{escape(v['customer_id'])}</h1>{flash}{read_only}"
        f"{_answer_section(view)}{_follow_up_section(view, action, errors)}"
        f"{_reply_section(view, action, errors, form)}{_notes_section(view, action, errors, form)}"
        f"{_tags_section(view, action, errors)}{_others_section(view, up)}"
    )
    return _page(
        f"{v['customer_id']} · Follow-up · Hark dashboard", body, status, f"{up}../dashboard", f"{up}signout"
    )
