"""The progress of `hark rebuild` / `hark verify` on stderr (docs/operations.md): a bar redrawn
in place on a terminal, plain lines (at most one per tenth of a phase) in a log."""

from __future__ import annotations

import io

import pytest

from functions.cli import _Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_when_stderr_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    log = io.StringIO()
    monkeypatch.setattr("sys.stderr", log)
    progress = _Progress()
    for done in range(1, 101):
        progress("days", done, 100)
    progress.end()
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue()
    assert len(lines) == 11  # the first, then one per tenth
    assert lines[-1] == "days      [##############################] 100/100"


def test_a_bar_redrawn_in_place_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = Terminal()
    monkeypatch.setattr("sys.stderr", screen)
    progress = _Progress()
    progress("responses", 1, None)
    progress("responses", 1000, None)
    for done in range(1, 4):
        progress("segments", done, 3)
    progress.end()
    text = screen.getvalue()
    assert text.count("\r") == 5 and text.endswith("segments  [##############################] 3/3\n")
    assert "\rresponses 1,000" in text  # an unknown total: the count alone
    assert text.count("\n") == 2  # the responses line is kept when the phase changes, and the last
