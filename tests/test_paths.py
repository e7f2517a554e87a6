"""Paths: an id is quoted as one path segment, whether it takes the fast path (nothing to quote) or not."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given, strategies as st

from learnkit.errors import InvalidInputError
from learnkit.paths import provider_activity, segment


@given(st.text(min_size=1).filter(str.strip))
def test_a_segment_is_what_quote_gives(value: str) -> None:
    assert segment(value, "activity_id") == quote(value, safe=":@")


@pytest.mark.parametrize("value", ["a/b", "a?b", "a#b", "a%b", "a b", "é", "a\nb", "a\u2028"])
def test_what_would_end_or_split_a_path_is_quoted(value: str) -> None:
    assert segment(value, "activity_id") != value
    assert provider_activity("r", value).count("/") == provider_activity("r", "a").count("/")


def test_an_empty_id_is_refused_with_its_name() -> None:
    with pytest.raises(InvalidInputError, match="activity_id"):
        segment(" ", "activity_id")
