"""What the emulator was asked: moto server's own request recorder (/moto-api/recorder/...).

No botocore patching: the server writes every request it receives; the tests read the
recording back and name each call `service:Action` from the request itself (the SigV4
credential scope names the service; the JSON protocols' X-Amz-Target, the query
protocols' Action parameter, or the REST method and path name the action).
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse

import requests

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")


def _post(endpoint: str, path: str) -> None:
    requests.post(f"{endpoint}/moto-api/recorder/{path}", timeout=30).raise_for_status()


def start(endpoint: str) -> None:
    """Forget earlier requests and record from now on."""
    _post(endpoint, "reset-recording")
    _post(endpoint, "start-recording")


def calls(endpoint: str) -> list[str]:
    """Stop recording; every request since start() as `service:Action`, in order."""
    _post(endpoint, "stop-recording")
    response = requests.get(f"{endpoint}/moto-api/recorder/download-recording", timeout=30)
    response.raise_for_status()
    lines = response.text.splitlines()
    # Unsigned requests are the harness's own readiness probes (tools/localenv.py), not AWS calls.
    names = [_name(json.loads(line)) for line in lines if line.strip()]
    return [n for n in names if not n.startswith("?:")]


def _name(entry: dict) -> str:
    headers = {k.lower(): v for k, v in entry.get("headers", {}).items()}
    scope = _SCOPE.search(headers.get("authorization", ""))
    service = scope.group(1) if scope else "?"
    target = headers.get("x-amz-target")
    if target:
        return f"{service}:{target.rsplit('.', 1)[-1]}"
    body = entry.get("body") or ""
    if entry.get("body_encoded"):
        body = base64.b64decode(body).decode("utf-8", "replace")
    params = urllib.parse.parse_qs(body) | urllib.parse.parse_qs(urllib.parse.urlsplit(entry["url"]).query)
    if "Action" in params:
        return f"{service}:{params['Action'][0]}"
    return f"{service}:{entry['method']} {urllib.parse.urlsplit(entry['url']).path}"


# Read-only calls by name: describe/list/get, plus the REST reads (GET/HEAD).
_READ = re.compile(r":(Describe|List|Get|Head|Lookup|Check|BatchGet)|:(GET|HEAD) ")


def writes(names: list[str]) -> list[str]:
    """The calls that could change something."""
    return [n for n in names if not _READ.search(n)]
