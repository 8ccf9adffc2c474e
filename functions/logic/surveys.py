"""Surveys: create, read, change, archive (docs/api.md, Surveys). Another tenant's survey is 'not found'."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from functions.domain.apikeys import ApiKey
from functions.domain.codes import ID_PATTERN, new_id
from functions.domain.commands import NewSurvey, SurveyChanges, Translations
from functions.domain.errors import NotFound, Unprocessable
from functions.domain.follow_ups import FollowUpRule, rule_problem
from functions.domain.languages import LANGUAGES, canonical, translation_problem
from functions.domain.questions import Question, translation_gap
from functions.domain.survey import ACTIVE, ARCHIVED, Brand, Survey
from functions.lazy import lazy
from functions.logic import clock
from functions.store import core

if TYPE_CHECKING:
    from functions.logic import tenant_settings
else:  # a survey's own sender address only
    tenant_settings = lazy("functions.logic.tenant_settings")


def _language(code: str) -> str:
    language = canonical(code)
    if language is None:
        raise Unprocessable(
            f"unknown locale {code!r} for default_locale; supported: {', '.join(LANGUAGES)}",
            field="default_locale",
            code="unknown_locale",
        )
    return language


def _sender(address: str | None) -> str | None:
    """A survey's own sender passes the tenant's check (docs/sending.md, "The sender address")."""
    if address:
        tenant_settings.check_sender_address("email_from", address, on_identity=True)
    return address


def _translations(
    texts: Translations,
    attribute_keys: list[str],
    has_follow_up: bool,
    questions: tuple[Question, ...] = (),
) -> dict[str, dict[str, Any]]:
    """The survey's translations as stored (no empty fields), or a 422 naming the first problem."""
    problem = translation_problem(texts, attribute_keys, has_follow_up)
    if problem is not None:
        field, message = problem
        code = "unknown_locale" if message.startswith("unknown locale") else "invalid_translation"
        raise Unprocessable(message, field=field, code=code)
    _check_question_texts(texts, questions)
    cleaned = {code: {k: v for k, v in t.items() if v != {}} for code, t in texts.items()}
    for t in cleaned.values():
        for q in (t.get("questions") or {}).values():
            if not q.get("options"):
                q.pop("options", None)
    return cleaned


def _check_question_texts(translations: dict[str, Any], questions: tuple[Question, ...]) -> None:
    """Each translation has every additional question's text (and options), or a 422."""
    views = [q.view() for q in questions]
    for code, texts in translations.items():
        gap = translation_gap(views, texts)
        if gap is not None:
            question = gap.split(".")[0]
            raise Unprocessable(
                f"the {code} translation needs the text (and every option) of question {question!r}, "
                "and no other question",
                field=f"translations.{code}.questions.{gap}",
                code="invalid_translation",
            )


def _changed_questions(held: tuple[Question, ...], wanted: tuple[Question, ...]) -> None:
    """A survey keeps its questions in place: the scores count answers by position
    (domain.questions), so only texts may change, and new questions come after the others."""
    for n, old in enumerate(held):
        new = wanted[n] if n < len(wanted) else None
        if new is None or (new.key, new.type, new.options, new.scale) != (
            old.key,
            old.type,
            old.options,
            old.scale,
        ):
            raise Unprocessable(
                f"question {old.key!r} cannot be removed, moved or changed (only its text): its answers "
                "are counted by position; add new questions after it, or create a new survey",
                field=f"questions.{n}",
                code="questions_fixed",
            )


SURVEYS_ROUTE = "GET /v1/surveys"


def create_survey(tenant_id: str, request: NewSurvey) -> Survey:
    keys = [a.key for a in request.attributes]
    questions = request.questions
    translations = _translations(
        request.translations, keys, request.follow_up_question is not None, questions
    )
    default_locale = _language(request.default_locale)
    survey = Survey(
        id=new_id("srv"),
        tenant_id=tenant_id,
        name=request.name,
        kind=request.kind,
        question=request.question,
        follow_up_question=request.follow_up_question,
        attributes=request.attributes,
        brand=request.brand or Brand(request.name, "#1f6feb"),
        cooldown_days=request.cooldown_days,
        status=ACTIVE,
        created_at=clock.iso(clock.now()),
        default_locale=default_locale,
        translations=translations,
        email_from=_sender(request.email_from),
        quiet_hours=request.quiet_hours,
        reminder_after_days=request.reminder_after_days,
        follow_up_rule=request.follow_up_rule or FollowUpRule(),
        questions=questions,
    )
    core.put_survey(survey, new=True)
    return survey


def get_survey(tenant_id: str, survey_id: str) -> Survey:
    survey = core.get_survey(survey_id) if ID_PATTERN.match(survey_id) else None
    if survey is None or survey.tenant_id != tenant_id:
        raise NotFound("no such survey", field="survey_id")
    return survey


def survey_for_key(key: ApiKey, survey_id: str | None) -> Survey:
    """The survey a Delighted-style call acts on: the one named, else the key's default survey."""
    survey_id = survey_id or key.default_survey_id
    if not survey_id:
        raise Unprocessable(
            "this API key has no default survey, which Delighted-compatible calls act on: create a key "
            "with one (`hark key create TENANT_ID --scopes … --default-survey SURVEY_ID`) "
            "or name the survey with ?survey_id=",
            field="survey_id",
            code="survey_required",
        )
    return get_survey(key.tenant_id, survey_id)


def update_survey(tenant_id: str, survey_id: str, patch: SurveyChanges) -> Survey:
    survey = get_survey(tenant_id, survey_id)
    changes: dict[str, Any] = {}
    for name in (
        "name",
        "question",
        "follow_up_question",
        "cooldown_days",
        "status",
        "email_from",
        "reminder_after_days",
    ):
        if name in patch.given:
            changes[name] = getattr(patch, name)
    if changes.get("email_from"):
        _sender(changes["email_from"])
    if "quiet_hours" in patch.given:
        changes["quiet_hours"] = patch.quiet_hours
    if "follow_up_rule" in patch.given:
        changes["follow_up_rule"] = _checked_rule(survey, patch.follow_up_rule)
    if "brand" in patch.given and patch.brand is not None:
        changes["brand"] = patch.brand
    if "default_locale" in patch.given and patch.default_locale is not None:
        changes["default_locale"] = _language(patch.default_locale)
    follow_up = changes.get("follow_up_question", survey.follow_up_question)
    keys = [a.key for a in survey.attributes]
    questions = survey.questions
    if "questions" in patch.given and patch.questions is not None:
        questions = patch.questions
        _changed_questions(survey.questions, questions)
        changes["questions"] = questions
    if "translations" in patch.given and patch.translations is not None:
        changes["translations"] = _translations(patch.translations, keys, follow_up is not None, questions)
    elif "questions" in changes:
        # New questions need their translations too, or those pages would mix languages.
        _check_question_texts(dict(survey.translations), questions)
    elif "follow_up_question" in changes and follow_up is not None:
        # A new follow-up question needs its translations too, or those pages would mix languages.
        problem = translation_problem(survey.translations, keys, True)
        if problem is not None:
            raise Unprocessable(
                problem[1] + ": send translations with the new follow-up question",
                field=problem[0],
                code="invalid_translation",
            )
    updated = replace(survey, **changes)
    core.put_survey(updated, new=False)
    return updated


def archive_survey(tenant_id: str, survey_id: str) -> Survey:
    survey = replace(get_survey(tenant_id, survey_id), status=ARCHIVED)
    core.put_survey(survey, new=False)
    return survey


def list_surveys(tenant_id: str, limit: int, cursor: str | None) -> tuple[list[Survey], str | None]:
    """One page of the tenant's surveys, newest first, and the sealed cursor of the next."""
    return core.list_surveys(tenant_id, limit, cursor, route=SURVEYS_ROUTE)


def survey_view(survey: Survey) -> dict[str, Any]:
    """The public JSON shape of a survey (docs/api.md): the survey's one plain shape."""
    return survey.plain()


def _checked_rule(survey: Survey, rule: FollowUpRule | None) -> FollowUpRule:
    """A patched rule, checked against the survey's kind (which a patch does not carry); None
    is the kind's default."""
    problem = None if rule is None else rule_problem(survey.kind, rule.max_score, rule.below_index)
    if problem:
        raise Unprocessable(problem, field="follow_up_rule", code="invalid_follow_up_rule")
    return rule or FollowUpRule()
