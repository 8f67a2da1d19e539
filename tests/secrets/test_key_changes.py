"""The key-by-key comparison behind secretsmanager_json_secret (pure functions)."""

from __future__ import annotations

from ansible_collections.mediamind.platform.plugins.module_utils.secrets import (
    key_changes,
    merged_document,
    parse_document,
)
from hypothesis import given
from hypothesis import strategies as st

documents = st.dictionaries(st.text(min_size=1, max_size=8), st.one_of(st.text(max_size=8), st.integers()))


def test_reports_added_modified_and_removed_key_names():
    changes = key_changes({"A": "1", "B": "2", "OLD": "x"}, {"A": "1", "B": "3", "NEW": "y"}, purge=True)
    assert changes == {"added_keys": ["NEW"], "modified_keys": ["B"], "removed_keys": ["OLD"]}


def test_without_purge_unknown_keys_are_kept_and_not_reported():
    changes = key_changes({"A": "1", "REDIS_URL": "r"}, {"A": "2"}, purge=False)
    assert changes == {"added_keys": [], "modified_keys": ["A"], "removed_keys": []}
    assert merged_document({"A": "1", "REDIS_URL": "r"}, {"A": "2"}, purge=False) == {"A": "2", "REDIS_URL": "r"}


def test_a_stored_value_that_is_not_a_json_object_counts_as_missing():
    assert parse_document("not json") is None
    assert parse_document('["a list"]') is None
    assert parse_document(None) is None
    assert key_changes(None, {"A": "1"}, purge=True)["added_keys"] == ["A"]


@given(current=documents, wanted=documents, purge=st.booleans())
def test_the_stored_document_then_has_no_changes_left(current, wanted, purge):
    stored = merged_document(current, wanted, purge)
    assert key_changes(stored, wanted, purge) == {"added_keys": [], "modified_keys": [], "removed_keys": []}


@given(current=documents, wanted=documents)
def test_changes_name_keys_only(current, wanted):
    changes = key_changes(current, wanted, purge=True)
    names = {k for keys in changes.values() for k in keys}
    assert names <= set(current) | set(wanted)
    assert names == {k for k in set(current) | set(wanted) if current.get(k, object()) != wanted.get(k, object())}
