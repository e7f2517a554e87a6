"""Paths: an id is quoted as one path segment, and a key as an OData string literal, whether each takes the fast path
(nothing to quote) or not."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given, strategies as st

from learnkit.errors import InvalidInputError
from learnkit.paths import activity_by_external_id, key_literal, provider_activity, segment


@given(st.text(min_size=1).filter(str.strip))
def test_a_segment_is_what_quote_gives(value: str) -> None:
    assert segment(value, "activity_id") == quote(value, safe=":@")


@given(st.text())
def test_a_key_literal_is_what_quote_gives_with_its_quotes_doubled(value: str) -> None:
    assert key_literal(value) == quote(value.replace("'", "''"), safe=":@")


@pytest.mark.parametrize("key", ["o'hara", "a/b", "a)b", "a b", "é", "bulk-000001"])
def test_a_key_stays_inside_its_quotes_and_segment(key: str) -> None:
    path = activity_by_external_id("r", key)
    literal = path.split("(externalcourseActivityId='", 1)[1]
    assert literal.endswith("')") and "'" not in literal[:-2].replace("''", "") and "/" not in literal


@pytest.mark.parametrize("value", ["a/b", "a?b", "a#b", "a%b", "a b", "é", "a\nb", "a\u2028"])
def test_what_would_end_or_split_a_path_is_quoted(value: str) -> None:
    assert segment(value, "activity_id") != value
    assert provider_activity("r", value).count("/") == provider_activity("r", "a").count("/")


def test_an_empty_id_is_refused_with_its_name() -> None:
    with pytest.raises(InvalidInputError, match="activity_id"):
        segment(" ", "activity_id")
