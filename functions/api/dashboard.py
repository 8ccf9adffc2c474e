"""The read-only dashboard (issue 10): /dashboard, signed in with an API key.

`POST /dashboard/session` exchanges a key with `scores:read` for a signed session cookie
(HttpOnly, SameSite=Strict, Secure except on a http://localhost or 127.0.0.1 base, one hour);
the key never appears in a page. Sign-in and sign-out are POST-only and refused when the
browser says the form came from another site (Sec-Fetch-Site / Origin). Pages and logic are
bound with `lazy()`: the customer click path does not pay for the dashboard.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from chalice.app import Blueprint, Response

from functions.api.errors import status_for
from functions.api.http import form_body, query
from functions.domain.errors import Forbidden, HarkError, InvalidInput, NotFound, Unauthenticated
from functions.domain.windows import parse_window
from functions.lazy import lazy
from functions.settings import get_settings

if TYPE_CHECKING:
    from functions.api import dashboard_follow_up_pages as pages
    from functions.api import dashboard_pages
    from functions.domain.apikeys import ApiKey
    from functions.logic import dashboard
    from functions.logic import dashboard_follow_ups as follow_up_logic
else:  # the dashboard's routes only
    pages, dashboard_pages = (
        lazy("functions.api.dashboard_follow_up_pages"),
        lazy("functions.api.dashboard_pages"),
    )
    dashboard, follow_up_logic = (
        lazy("functions.logic.dashboard"),
        lazy("functions.logic.dashboard_follow_ups"),
    )

bp = Blueprint(__name__)
FORM_TYPE = "application/x-www-form-urlencoded"
# Non-form bodies reach the view (instead of Chalice's JSON 415) to get a friendly page.
POST_TYPES = [FORM_TYPE, "multipart/form-data", "text/plain", "application/json", "application/octet-stream"]
COOKIE = "hark_session"
SECURE_COOKIE = "__Host-hark_session"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def _secure() -> bool:
    """Secure cookies everywhere but a plain-http local development base URL."""
    base = urlsplit(get_settings().public_base_url)
    return not (base.scheme == "http" and (base.hostname or "") in LOCAL_HOSTS)


def _cookie_name() -> str:
    return SECURE_COOKIE if _secure() else COOKIE


def _headers() -> dict[str, str]:
    return {k.lower(): v for k, v in (bp.current_request.headers or {}).items()}


def _session_cookie() -> str | None:
    name = _cookie_name()
    for part in _headers().get("cookie", "").split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value.strip()
    return None


def _set_cookie(value: str, max_age: int) -> str:
    secure = "; Secure" if _secure() else ""
    return f"{_cookie_name()}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Strict{secure}"


def _same_site_form() -> bool:
    """Whether a POST came from one of our pages (CSRF check; SameSite=Strict is the other half).

    Browsers say where a request comes from in ``Sec-Fetch-Site``; it must be same-origin.
    They also send ``Origin``, but as ``null`` from a page whose referrer policy is
    no-referrer (ours), so a null origin counts only with that header. An origin that is
    named must be the public base URL's or the one the request was sent to. A client that
    sends neither header is not a browser and carries no one else's cookie.
    """
    headers = _headers()
    site = headers.get("sec-fetch-site")
    origin = headers.get("origin")
    if site is not None and site != "same-origin":
        return False
    if origin is None or (origin == "null" and site == "same-origin"):
        return True
    parts = urlsplit(get_settings().public_base_url)
    allowed = {f"{parts.scheme}://{parts.netloc}"}
    host = headers.get("host")
    if host:
        allowed |= {f"http://{host}", f"https://{host}"}
    return origin in allowed


def _see_other(location: str, cookie: str | None = None) -> Response:
    """303 to a path relative to the request (works under any stage prefix)."""
    headers: dict[str, str | list[str]] = {
        "Location": location,
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
    }
    if cookie is not None:
        headers["Set-Cookie"] = cookie
    return Response(body="", status_code=303, headers=headers)


def dashboard_page(
    home: str, *, signed_in: bool = False
) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Turn domain errors into dashboard error pages; `home` is the list page, relative. A
    `signed_in` view is called with the session's key first; without a session the visitor is
    sent home to sign in."""

    def decorate(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Response:
            try:
                if signed_in:
                    try:
                        key = dashboard.session_key(_session_cookie())
                    except Unauthenticated:
                        return _see_other(home)
                    return view(key, *args, **kwargs)
                return view(*args, **kwargs)
            except HarkError as exc:
                status = status_for(exc, "page")
                message = exc.message[:1].upper() + exc.message[1:] + "." if status == 400 else None
                return dashboard_pages.error_page(status, home, message)

        return wrapped

    return decorate


@bp.route("/dashboard", methods=["GET"])
@dashboard_page("dashboard")
def dashboard_home() -> Response:
    try:
        key = dashboard.session_key(_session_cookie())
    except Unauthenticated:
        return dashboard_pages.sign_in_page("dashboard/session", "dashboard")
    return dashboard_pages.survey_list_page(
        dashboard.tenant_surveys(key), key.allows(dashboard.ANSWERS_SCOPE)
    )


@bp.route("/dashboard/session", methods=["POST"], content_types=POST_TYPES)
@dashboard_page("../dashboard")
def dashboard_sign_in() -> Response:
    if not _same_site_form():
        raise Forbidden("this form was sent from another site, so it was refused")
    content_type = _headers().get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise InvalidInput("please sign in with the form on the dashboard page", code="invalid_form")
    form = form_body(bp.current_request)
    try:
        signed = dashboard.sign_in(form.get("api_key"))
    except (Unauthenticated, Forbidden) as exc:
        message = (
            "That API key does not have the scores:read scope."
            if isinstance(exc, Forbidden)
            else "That API key is not valid. Check it and try again."
        )
        return dashboard_pages.sign_in_page("session", "../dashboard", message, status_for(exc, "page"))
    return _see_other("../dashboard", _set_cookie(signed.value, signed.max_age))


@bp.route("/dashboard/signout", methods=["POST"], content_types=POST_TYPES)
@dashboard_page("../dashboard")
def dashboard_sign_out() -> Response:
    if not _same_site_form():
        raise Forbidden("this form was sent from another site, so it was refused")
    return _see_other("../dashboard", _set_cookie("", 0))


@bp.route("/dashboard/surveys/{survey_id}", methods=["GET"])
@dashboard_page("../../dashboard", signed_in=True)
def dashboard_survey(key: ApiKey, survey_id: str) -> Response:
    window = parse_window(query(bp.current_request).get("window") or dashboard.DEFAULT_WINDOW)
    return dashboard_pages.survey_page(dashboard.survey_page(key, survey_id, window))


# ---- follow-ups: the inbox and a response's page (docs/pages.md#follow-ups-inbox-and-response-page)

RESPONSE_FORMS = ("owner", "status", "tags", "note", "reply")
# A reply or note of 2,000 characters in a non-Latin script is up to 18 KB form-encoded (each
# character three UTF-8 bytes, each byte %XX), more than a customer page's form may be.
RESPONSE_FORM_LIMIT = 32_000


def _refused(exc: HarkError, home: str) -> Response:
    """A scope refusal or a response that is not there, as a page that says which."""
    status = status_for(exc, "page")
    if status == 404:
        return dashboard_pages.error_page(
            404, home, "There is no such response in your account.", "Not found"
        )
    message = exc.message[:1].upper() + exc.message[1:] + "."
    return dashboard_pages.error_page(status, home, message)


@bp.route("/dashboard/follow-ups", methods=["GET"])
@dashboard_page("../dashboard", signed_in=True)
def dashboard_follow_ups(key: ApiKey) -> Response:
    params = query(bp.current_request)
    try:
        inbox = follow_up_logic.inbox(key, params.get("owner"), params.get("survey_id"), params.get("cursor"))
    except Forbidden as exc:
        return _refused(exc, "../dashboard")
    return pages.inbox_page(inbox)


@bp.route("/dashboard/responses/{response_id}", methods=["GET"])
@dashboard_page("../../dashboard", signed_in=True)
def dashboard_response(key: ApiKey, response_id: str) -> Response:
    try:
        view = follow_up_logic.response_page(key, response_id)
    except (Forbidden, NotFound) as exc:
        return _refused(exc, "../../dashboard")
    return pages.response_page(view, done=query(bp.current_request).get("done"))


@bp.route("/dashboard/responses/{response_id}/{form}", methods=["POST"], content_types=POST_TYPES)
@dashboard_page("../../../dashboard")
def dashboard_work_response(response_id: str, form: str) -> Response:
    """One of the response page's forms; 303 back to the page, or the page with the reason."""
    home = "../../../dashboard"
    if not _same_site_form():
        raise Forbidden("this form was sent from another site, so it was refused")
    try:
        key = dashboard.session_key(_session_cookie())
    except Unauthenticated:
        return _see_other(home)
    if form not in RESPONSE_FORMS:
        return _refused(NotFound("no such form"), home)
    content_type = _headers().get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise InvalidInput("please use the forms on the response page", code="invalid_form")
    fields = form_body(bp.current_request, RESPONSE_FORM_LIMIT)
    try:
        follow_up_logic.require(key, follow_up_logic.WRITE_SCOPE)
        if form == "owner":
            follow_up_logic.assign(key, response_id, fields.get("owner"))
        elif form == "status":
            follow_up_logic.set_status(key, response_id, fields.get("status"))
        elif form == "tags":
            follow_up_logic.set_tags(key, response_id, fields.get("tags"))
        elif form == "note":
            follow_up_logic.add_note(key, response_id, fields.get("text"))
        else:
            follow_up_logic.reply(
                key, response_id, fields.get("text"), fields.get("email"), fields.get("subject")
            )
    except (Forbidden, NotFound) as exc:
        return _refused(exc, home)
    except HarkError as exc:
        # Shown next to the form that failed, with what was typed kept; nothing changed.
        view = follow_up_logic.response_page(key, response_id)
        kept = {
            "note_text": fields.get("text", "") if form == "note" else "",
            "reply_text": fields.get("text", "") if form == "reply" else "",
            "reply_email": fields.get("email", "") if form == "reply" else "",
            "reply_subject": fields.get("subject", "") if form == "reply" else "",
        }
        message = exc.message[:1].upper() + exc.message[1:] + "."
        return pages.response_page(
            view, errors={form: message}, form=kept, status=status_for(exc, "page"), depth=1
        )
    return _see_other(f"../{quote(response_id, safe='')}?done={form}")
