"""Customer routes (docs/pages.md): email links /r/{token}, SMS links /s/{code}, unsubscribe links
/u/{token} (docs/sending.md). No API key.

A GET (or HEAD) never records; only the page's POST does. Pages link to each other with
relative URLs: ``/r/{token}`` posts to ``{token}``, ``/r/{token}/thanks`` to ``../{token}``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, Response

from functions.api import pages
from functions.api.errors import status_for
from functions.api.http import form_pairs, query
from functions.domain import languages
from functions.domain.errors import HarkError, InvalidInput, RateLimited
from functions.domain.ratelimit import RateLimiter
from functions.domain.survey import Invitation
from functions.lazy import lazy
from functions.logic import answers
from functions.settings import get_settings

if TYPE_CHECKING:
    from functions.logic import unsubscribes
else:  # an unsubscribe's path only (a click's cold start skips it)
    unsubscribes = lazy("functions.logic.unsubscribes")

bp = Blueprint(__name__)
FORM_TYPE = "application/x-www-form-urlencoded"
# Browsers post these pages' forms url-encoded. Other types are let through Chalice's own check
# (which would answer a JSON 415) so that the view can answer them with a friendly page.
ANSWER_TYPES = [
    FORM_TYPE,
    "multipart/form-data",
    "text/plain",
    "application/json",
    "application/octet-stream",
]
READ = ["GET", "HEAD"]
ANSWER_ERRORS = {
    "score_required",
    "invalid_score",
    "invalid_attribute",
    "comment_too_long",
    "invalid_form",
    "invalid_question",
    "answer_too_long",
}


_limits: dict[str, RateLimiter] = {}


def _limiter(name: str, limit: int) -> RateLimiter:
    found = _limits.get(name)
    if found is None or found.limit != limit:
        found = _limits[name] = RateLimiter(limit)
    return found


def check_rate(link: str | None, method: str, address: str | None, now: float) -> None:
    """Refuse a client that sends too much, or too many answers to one link (429)."""
    settings = get_settings()
    waits = []
    if address:
        waits.append(_limiter("address", settings.rate_per_address).check(address, now))
    if link and method == "POST":
        waits.append(_limiter("link", settings.rate_per_link).check(link, now))
    wait = max(waits, default=0)
    if wait:
        raise RateLimited("too many requests; try again shortly", retry_after=wait)


def _address(request: Any) -> str | None:
    identity = (getattr(request, "context", None) or {}).get("identity") or {}
    address = identity.get("sourceIp")
    return str(address) if address else None


def customer_page(view: Callable[..., Response]) -> Callable[..., Response]:
    """Turn domain errors into friendly pages with the right status; HEAD gets no body.

    Scanners probe links with HEAD: it answers what GET would, reads the same, records nothing.
    Rate limits come first, so a refused request costs no database read.
    """

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Response:
        request = bp.current_request
        try:
            check_rate(_landing(kwargs), request.method, _address(request), time.time())
            response = view(*args, **kwargs)
        except RateLimited as exc:
            response = pages.error_page(status_for(exc, "page"), language=_error_language())
            response.headers["Retry-After"] = str(exc.retry_after)
        except HarkError as exc:
            answer_error = exc.code in ANSWER_ERRORS
            landing = _landing(kwargs)
            back = landing + _lang_suffix() if answer_error and landing else None
            response = pages.error_page(
                status_for(exc, "page"),
                exc.code if answer_error else None,
                back,
                language=_error_language(),
                values=exc.values,
            )
        if bp.current_request.method == "HEAD":
            response.body = ""
        return response

    return wrapped


def _landing(kwargs: dict[str, Any]) -> str | None:
    """The landing page of the link being answered, relative to the POST's URL."""
    if "token" in kwargs:
        return str(kwargs["token"])
    if "code" in kwargs:
        return str(kwargs["code"])
    return None


def _requested() -> str | None:
    """The catalog language `?lang=` names, if any."""
    return languages.language_of(query(bp.current_request).get("lang"))


def _lang_suffix() -> str:
    """`?lang=xx` for the links of a page that was asked for in a language, so it stays in it."""
    requested = _requested()
    return f"?lang={requested}" if requested else ""


def _accept_language() -> str | None:
    headers = bp.current_request.headers
    return str(headers.get("accept-language") or "") if headers else None


def _error_language() -> str:
    """A page without a survey (an unknown or broken link): any language with a catalog."""
    return languages.choose(
        recipient=None,
        requested=_requested(),
        accept=_accept_language(),
        default=languages.SOURCE,
        available=languages.LANGUAGES,
    )


def page_language(inv: Invitation) -> tuple[dict[str, Any], str]:
    """The invitation's page in the one language it speaks (docs/languages.md), and that language."""
    language = languages.choose(
        recipient=inv.locale,
        requested=_requested(),
        accept=_accept_language(),
        default=inv.page.get("default_locale"),
        available=languages.survey_languages(inv.page),
    )
    return languages.localized(inv.page, language), language


def _chosen(inv: Invitation) -> int | None:
    raw = query(bp.current_request).get("score")
    if raw is None:
        return None
    low, high = inv.scale
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidInput(
            f"score must be an integer from {low} to {high}",
            code="invalid_score",
            values={"low": low, "high": high},
        )
    return int(raw)


def _answer_form() -> list[tuple[str, str]]:
    """The posted form's fields in order (additional questions repeat `q.<key>` for each choice)."""
    request = bp.current_request
    content_type = str(request.headers.get("content-type") or "") if request.headers else ""
    if content_type.split(";")[0].strip().lower() != FORM_TYPE:
        raise InvalidInput("please answer with the buttons on the survey page", code="invalid_form")
    return form_pairs(request)


def _record(code: str, channel: str | None = None) -> None:
    pairs = _answer_form()
    answers.record(code, dict(pairs), channel=channel, pairs=pairs)


def _see_other(path: str) -> Response:
    """303 to an absolute URL under the configured public base (which may carry a stage prefix)."""
    return Response(
        body="",
        status_code=303,
        headers={
            "Location": get_settings().public_base_url + path + _lang_suffix(),
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        },
    )


def _keep(language: str) -> str:
    """The suffix that keeps a page's forms and links in its language: a refused answer is
    answered before the invitation is read, so its page only knows the language from the URL.
    English pages, unless asked for by ?lang=, need none (the fallback is English)."""
    return f"?lang={language}" if language != languages.SOURCE or _requested() else ""


def _landing_page(inv: Invitation, action: str) -> Response:
    page, language = page_language(inv)
    action += _keep(language)
    return pages.survey_page(page, action, _chosen(inv), inv.score, inv.attrs, language=language)


def _thanks_page(inv: Invitation, back: str) -> Response:
    page, language = page_language(inv)
    back += _keep(language)
    if inv.score is None:
        # Nothing answered yet (a bookmarked or guessed thank-you URL): ask the question.
        return pages.survey_page(page, back, None, None, language=language)
    return pages.thanks_page(
        page, back, inv.score, inv.comment, inv.attrs, language=language, answers=inv.answers
    )


@bp.route("/r/{token}", methods=READ)
@customer_page
def email_page(token: str) -> Response:
    inv = answers.open_invitation(answers.code_from_token(token))
    return _landing_page(inv, token)


@bp.route("/r/{token}", methods=["POST"], content_types=ANSWER_TYPES)
@customer_page
def email_answer(token: str) -> Response:
    _record(answers.code_from_token(token))
    return _see_other(f"/r/{token}/thanks")


@bp.route("/r/{token}/thanks", methods=READ)
@customer_page
def email_thanks(token: str) -> Response:
    inv = answers.open_invitation(answers.code_from_token(token))
    return _thanks_page(inv, f"../{token}")


@bp.route("/s/{code}", methods=READ)
@customer_page
def sms_page(code: str) -> Response:
    inv = answers.open_invitation(answers.check_short_code(code), channel="sms")
    return _landing_page(inv, code)


@bp.route("/s/{code}", methods=["POST"], content_types=ANSWER_TYPES)
@customer_page
def sms_answer(code: str) -> Response:
    _record(answers.check_short_code(code), channel="sms")
    return _see_other(f"/s/{code}/thanks")


@bp.route("/s/{code}/thanks", methods=READ)
@customer_page
def sms_thanks(code: str) -> Response:
    inv = answers.open_invitation(answers.check_short_code(code), channel="sms")
    return _thanks_page(inv, f"../{code}")


def _unsubscribe_language(who: unsubscribes.Unsubscriber) -> str:
    """The language of the email the link came in (its invitation's), else as an error page
    chooses: `?lang=`, then `Accept-Language`, among all catalog languages (docs/languages.md)."""
    return who.language or _error_language()


@bp.route("/u/{token}", methods=READ)
@customer_page
def unsubscribe_page(token: str) -> Response:
    who = unsubscribes.read_token(token)  # a damaged link says so before the button is offered
    language = _unsubscribe_language(who)
    return pages.unsubscribe_page(token + _keep(language), language=language)


# RFC 8058: a mail client's one-click POST (body `List-Unsubscribe=One-Click`), or the page's button.
@bp.route("/u/{token}", methods=["POST"], content_types=ANSWER_TYPES)
@customer_page
def unsubscribe(token: str) -> Response:
    who = unsubscribes.unsubscribe(token)
    return pages.unsubscribed_page(language=_unsubscribe_language(who))
