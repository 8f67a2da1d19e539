"""S3 event records -> work items (pure).

S3 delivers events at least once and may batch several records; every record is turned
into either an :class:`S3Object` to process or an :class:`Ignored` with a reason.  Keys in
S3 events are URL-encoded with ``+`` for spaces, hence ``unquote_plus``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str
    size: int | None = None  # from the event; lets us enforce the size limit without a HEAD
    event_time: str | None = None
    event_name: str = "ObjectCreated:Put"

    @property
    def message_id(self) -> str:
        """SES writes each mail under <prefix><SES message id>."""
        return self.key.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Ignored:
    reason: str
    bucket: str | None = None
    key: str | None = None


def iter_records(event: Any, prefix: str) -> Iterator[S3Object | Ignored]:
    """One item per record; never raises on a malformed event."""
    if not isinstance(event, dict):
        yield Ignored("not_an_s3_event")
        return
    # S3 sends this once when a notification is configured; it has no Records.
    if event.get("Event") == "s3:TestEvent":
        yield Ignored("s3_test_event", event.get("Bucket"))
        return
    records = event.get("Records")
    if not isinstance(records, list) or not records:
        yield Ignored("no_records")
        return
    for record in records:
        yield _item(record, prefix)


def _item(record: Any, prefix: str) -> S3Object | Ignored:  # noqa: PLR0911 - one return per rule
    if not isinstance(record, dict):
        return Ignored("malformed_record")
    name = record.get("eventName")
    if record.get("eventSource") != "aws:s3" or not isinstance(name, str):
        return Ignored("not_s3")
    s3 = record.get("s3")
    if not isinstance(s3, dict):
        return Ignored("malformed_record")
    bucket_info = s3.get("bucket")
    obj = s3.get("object")
    if not isinstance(bucket_info, dict) or not isinstance(obj, dict):
        return Ignored("malformed_record")
    bucket = bucket_info.get("name")
    raw_key = obj.get("key")
    if not isinstance(bucket, str) or not bucket or not isinstance(raw_key, str) or not raw_key:
        return Ignored("malformed_record")
    key = unquote_plus(raw_key)
    if not name.startswith("ObjectCreated:"):
        return Ignored("not_object_created", bucket, key)
    if not key.startswith(prefix):
        return Ignored("outside_prefix", bucket, key)
    if key.endswith("/") or key.rsplit("/", 1)[-1] == "AMAZON_SES_SETUP_NOTIFICATION":
        # SES writes this object once when the receipt rule is created; folders are not mail.
        return Ignored("not_a_mail_object", bucket, key)
    size = obj.get("size")
    return S3Object(
        bucket=bucket,
        key=key,
        size=size if isinstance(size, int) and size >= 0 else None,
        event_time=record.get("eventTime") if isinstance(record.get("eventTime"), str) else None,
        event_name=name,
    )


def make_event(bucket: str, key: str, size: int | None = None, event_time: str | None = None) -> dict:
    """An AWS-shaped ObjectCreated:Put event for one object (used by invoke and tests)."""
    from urllib.parse import quote_plus  # noqa: PLC0415 - only the CLI and tests build events

    obj: dict[str, Any] = {"key": quote_plus(key, safe="/")}
    if size is not None:
        obj["size"] = size
    record: dict[str, Any] = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "eu-central-1",
        "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket}, "object": obj},
    }
    if event_time:
        record["eventTime"] = event_time
    return {"Records": [record]}
