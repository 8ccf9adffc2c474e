"""Hostile JSON values, as raw JSON text (so lone surrogates, NaN and 40,000-deep nesting can be
sent exactly), shared by the in-process hostile-input tests and the schemathesis run."""

from __future__ import annotations

import json

from hypothesis import strategies as st

DEEP = 40_000


def nested(depth: int, kind: str = "[") -> str:
    if kind == "[":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


def long_label_url(label: int = 64) -> str:
    return json.dumps("https://" + "a" * label + ".example.com/hook")


def _quoted(text: str) -> str:
    return json.dumps(text)  # ensure_ascii: lone surrogates travel as \\udXXX escapes


deep_values = st.builds(nested, st.integers(min_value=33, max_value=DEEP), st.sampled_from(["[", "{"]))
huge_integers = st.one_of(
    st.integers(min_value=2**53, max_value=10**40).map(str),
    st.integers(min_value=2**53, max_value=10**40).map(lambda n: str(-n)),
    st.integers(min_value=4_300, max_value=6_000).map(lambda n: "9" * n),
)
odd_numbers = st.sampled_from(["1e400", "-1e400", "1e300", "1e-300", "NaN", "Infinity", "-Infinity", "1e126"])
lone_surrogates = st.builds(
    lambda head, cut, tail: _quoted(head + cut + tail),
    st.text(max_size=5),
    st.sampled_from(["\ud800", "\udfff", "\udc00\ud800", "\ud83d"]),
    st.text(max_size=5),
)
odd_text = st.text(
    alphabet=st.characters(codec="utf-8", categories=["Cc", "Cf", "Zl", "Zp", "Mn", "So", "Lo"]),
    max_size=40,
).map(_quoted)
long_labels = st.one_of(
    st.integers(min_value=64, max_value=300).map(long_label_url),
    st.just(json.dumps("https://" + ("a" * 63 + ".") * 5 + "com/")),
    st.just(json.dumps("https://a..example.com/")),
)
hostile_values = st.one_of(deep_values, huge_integers, odd_numbers, lone_surrogates, odd_text, long_labels)


def object_with(field: str, raw: str) -> str:
    """A JSON object whose `field` holds the raw JSON text `raw`."""
    return "{" + json.dumps(field) + ":" + raw + "}"
