"""`hark`: the operator's command line (docs/operations.md).

It reaches the stack through the same settings as the functions (AWS_ENDPOINT_URL, HARK_*
table names). Inside a `make dev` session, `.hark/dev.json` supplies whatever is not set.
JSON goes to stdout where a script reads it; tables where a person does.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from functions.domain.apikeys import parse_scopes
from functions.domain.errors import HarkError
from functions.lazy import lazy

if TYPE_CHECKING:
    from functions.domain import charts
    from functions.logic import follow_ups, importer, outbox, rebuild, tenants
    from functions.logic import report as reports
else:  # a command loads only what it runs, after the dev session has filled the settings
    charts = lazy("functions.domain.charts")
    follow_ups = lazy("functions.logic.follow_ups")
    importer = lazy("functions.logic.importer")
    outbox = lazy("functions.logic.outbox")
    rebuild = lazy("functions.logic.rebuild")
    reports = lazy("functions.logic.report")
    tenants = lazy("functions.logic.tenants")

_DEV_SESSION: dict[str, Any] = {}


def _load_dev_session() -> None:
    """Fill unset settings from .hark/dev.json (found from the current folder upwards)."""
    here = Path.cwd()
    for folder in (here, *here.parents):
        path = folder / ".hark" / "dev.json"
        if path.exists():
            info = json.loads(path.read_text())
            _DEV_SESSION.update(info)
            os.environ.setdefault("AWS_ENDPOINT_URL", info["aws_endpoint_url"])
            os.environ.setdefault("AWS_DEFAULT_REGION", info.get("region", "us-east-1"))
            os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
            os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
            for name, value in info.get("environment", {}).items():
                os.environ.setdefault(name, value)
            secrets = folder / ".hark" / "secrets.json"
            if secrets.exists():
                os.environ.setdefault("HARK_SIGNING_KEYS", json.loads(secrets.read_text())["signing_keys"])
            return


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2))


def _tenant_create(args: argparse.Namespace) -> int:
    out = tenants.create_tenant(args.name)
    _print_json({"tenant_id": out["tenant_id"], "api_key": out["api_key"]})
    return 0


def _key_create(args: argparse.Namespace) -> int:
    try:
        scopes = parse_scopes(args.scopes)
    except ValueError as exc:
        print(f"hark: {exc}", file=sys.stderr)
        return 2
    _print_json(tenants.create_key(args.tenant_id, scopes, args.default_survey))
    return 0


def _key_revoke(args: argparse.Namespace) -> int:
    tenants.revoke_key(args.key_id)
    _print_json({"key_id": args.key_id, "revoked": True})
    return 0


class _Progress:
    """A progress bar on stderr, redrawn in place on a terminal; plain lines (at most one per
    tenth, per phase) when stderr is not a terminal, so a log stays readable."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.shown: dict[str, int] = {}
        self.phase = ""

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        step = (done * (100 if self.tty else 10) // total) if total else done.bit_length()
        if self.shown.get(phase) == step and done != total:
            return
        self.shown[phase] = step
        text = f"{phase:<9} " + (charts.progress_bar(min(done, total), total) if total else f"{done:,}")
        if self.tty:
            if self.phase and self.phase != phase:
                print(file=sys.stderr)
            print(f"\r{text}", end="", file=sys.stderr, flush=True)
        else:
            print(text, file=sys.stderr, flush=True)
        self.phase = phase

    def end(self) -> None:
        if self.tty and self.phase:
            print(file=sys.stderr)


def _rebuild(args: argparse.Namespace) -> int:
    path = (
        Path(args.checkpoint)
        if args.checkpoint
        else rebuild.default_checkpoint(rebuild.Scope(args.tenant, args.survey))
    )
    if args.resume and not path.exists():
        print(f"hark: no checkpoint at {path} to resume from", file=sys.stderr)
        return 2
    print(f"hark: checkpoint {path} (continue an interrupted run with --resume)", file=sys.stderr)
    progress = _Progress()
    try:
        report = rebuild.rebuild(
            args.survey,
            tenant_id=args.tenant,
            segments=args.segments,
            checkpoint=path,
            resume=args.resume,
            progress=progress,
            page_size=args.page_size,
        )
    except rebuild.CheckpointMismatch as exc:
        progress.end()
        print(f"hark: {exc}", file=sys.stderr)
        return 2
    except BaseException:
        progress.end()
        print(f"hark: rebuild interrupted; continue it with --resume (checkpoint {path})", file=sys.stderr)
        raise
    progress.end()
    _print_json(report)
    return 0


def _verify(args: argparse.Namespace) -> int:
    progress = _Progress()
    report = rebuild.verify(
        args.survey,
        tenant_id=args.tenant,
        segments=args.segments,
        progress=progress,
        page_size=args.page_size,
    )
    progress.end()
    _print_json(report)
    return 1 if report["drift"] else 0


def _segments(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError("segments must be between 1 and 1000")
    return value


def _scope_options(command: argparse.ArgumentParser, verb: str) -> None:
    command.add_argument("--survey", default=None, help=f"{verb} only this survey (reads no other survey)")
    command.add_argument("--tenant", default=None, help=f"{verb} only this tenant's surveys")
    command.add_argument(
        "--segments",
        type=_segments,
        default=rebuild.DEFAULT_SEGMENTS,
        help=f"parallel scan segments and worker threads (default {rebuild.DEFAULT_SEGMENTS})",
    )
    command.add_argument("--page-size", type=int, default=None, help=argparse.SUPPRESS)


def _scores(args: argparse.Namespace) -> int:
    print(reports.scores_table(args.survey_id, args.segment))
    return 0


def _import(args: argparse.Namespace) -> int:
    shown = [-1]

    def progress(done: int, total: int) -> None:
        # Redraw in place at most once per percent (and at the end), on stderr.
        step = done * 100 // total if total else 100
        if step != shown[0]:
            shown[0] = step
            print(f"\r{charts.progress_bar(done, total)}", end="", file=sys.stderr, flush=True)

    summary = importer.import_delighted(Path(args.file), args.survey, progress)
    print(file=sys.stderr)
    _print_json(summary)
    return 1 if summary["failed"] else 0


def _outbox(args: argparse.Namespace) -> int:
    sent = outbox.sent_messages()
    if args.json:
        _print_json(sent)
        return 0
    if not sent:
        print("The outbox is empty: nothing has been sent yet.")
        return 0
    rows = [("CHANNEL", "TO", "SUBJECT OR TEXT", "SENT", "URL")] + [
        (
            m["channel"],
            m["to"] or "",
            " ".join(str(m.get("subject") or m.get("body") or "").split())[:60],
            m["sent_at"] or m.get("date") or "",
            m.get("url") or "",
        )
        for m in sent
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4])
    return 0


FOLLOW_UP_ROWS = 1000


def _follow_ups(args: argparse.Namespace) -> int:
    """The follow-up queue of one tenant (the `make dev` tenant by default), oldest due first."""
    tenant_id = args.tenant or _DEV_SESSION.get("tenant_id")
    if not tenant_id:
        print("hark: name the tenant with --tenant TENANT_ID", file=sys.stderr)
        return 2
    flt = follow_ups.QueueFilter(args.status, args.owner, args.survey, args.overdue)
    found: list[dict[str, Any]] = []
    cursor = None
    while len(found) < FOLLOW_UP_ROWS:
        page, cursor = follow_ups.list_follow_ups(tenant_id, flt, cursor, 100)
        found += page
        if not cursor:
            break
    if args.json:
        _print_json(found)
        return 0
    if not found:
        print("No follow-ups" + (" overdue." if args.overdue else " to work."))
        return 0
    rows = [("DUE", "STATUS", "OWNER", "SCORE", "CUSTOMER", "SURVEY", "COMMENT")]
    for item in found:
        loop = item["follow_up"] or {}
        due = str(loop.get("due_at") or "")[:16].replace("T", " ")
        rows.append(
            (
                due + (" OVERDUE" if loop.get("overdue") else ""),
                str(loop.get("status") or ""),
                str(loop.get("owner") or "-"),
                str(item["score"]),
                str(item["customer_id"]),
                str(item["survey_id"]),
                " ".join(str(item.get("comment") or "").split())[:40],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hark", description="Operate a Hark stack.")
    sub = parser.add_subparsers(dest="command", required=True)

    tenant = sub.add_parser("tenant", help="tenants").add_subparsers(dest="action", required=True)
    create = tenant.add_parser("create", help="create a tenant and its first key (every scope)")
    create.add_argument("name")
    create.set_defaults(run=_tenant_create)

    key = sub.add_parser("key", help="API keys").add_subparsers(dest="action", required=True)
    key_create = key.add_parser("create", help="create a scoped key")
    key_create.add_argument("tenant_id")
    key_create.add_argument("--scopes", required=True, help="comma-separated, e.g. scores:read")
    key_create.add_argument("--default-survey", default=None, help="survey for Delighted-style calls")
    key_create.set_defaults(run=_key_create)
    key_revoke = key.add_parser("revoke", help="revoke a key")
    key_revoke.add_argument("key_id")
    key_revoke.set_defaults(run=_key_revoke)

    again = sub.add_parser("rebuild", help="recompute every score from the stored answers")
    _scope_options(again, "rebuild")
    again.add_argument(
        "--checkpoint", default=None, help="the checkpoint file (default .hark/rebuild-<scope>.json)"
    )
    again.add_argument(
        "--resume", action="store_true", help="continue the interrupted rebuild of this checkpoint"
    )
    again.set_defaults(run=_rebuild)
    check = sub.add_parser("verify", help="report any drift between scores and answers (exit 1 on drift)")
    _scope_options(check, "check")
    check.set_defaults(run=_verify)
    scores = sub.add_parser("scores", help="show a survey's scores")
    scores.add_argument("survey_id")
    scores.add_argument("--segment", default="all")
    scores.set_defaults(run=_scores)

    imports = sub.add_parser("import", help="import answers from another tool")
    imports.add_argument("source", choices=["delighted"], help="the tool the file was exported from")
    imports.add_argument("file", help="the survey-response CSV export")
    imports.add_argument("--survey", required=True, help="the Hark survey to import into")
    imports.set_defaults(run=_import)

    sent = sub.add_parser(
        "outbox", help="list the emails and texts a local stack sent (the emulator's SES and SNS)"
    )
    sent.add_argument("--json", action="store_true", help="print JSON instead of a table")
    sent.set_defaults(run=_outbox)

    loops = sub.add_parser(
        "follow-ups", help="list a tenant's follow-ups, oldest due first (docs/follow-ups.md)"
    )
    loops.add_argument("--tenant", default=None, help="the tenant (default: the make dev session's)")
    loops.add_argument("--overdue", action="store_true", help="only those past their deadline")
    loops.add_argument("--status", choices=["open", "in_progress", "closed"], default=None)
    loops.add_argument("--owner", default=None)
    loops.add_argument("--survey", default=None, help="only this survey's")
    loops.add_argument("--json", action="store_true", help="print JSON instead of a table")
    loops.set_defaults(run=_follow_ups)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _load_dev_session()
    try:
        code: int = args.run(args)
        return code
    except HarkError as exc:
        print(f"hark: {exc.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
