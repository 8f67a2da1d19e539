"""Checks application settings against the contract in group_vars/all/app_contract.yml.

The one implementation of the contract's rules: preflight calls it as a filter before any
AWS call, and tests/contract calls it on the environment ECS would give each container.
Messages name the setting and where it came from, never its value.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_URL = re.compile(r"^https?://[^\s/]+(/\S*)?$")
_TIME = re.compile(r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$")
_REDIS_URL = re.compile(r"^rediss?://(:[^@\s]*@)?[^\s:/@]+(:[0-9]+)?/[0-9]+$")


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()) is not None


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool) or (isinstance(value, str) and value.strip().lower() in {"true", "false", "0", "1"})


def _as_bool(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in {"true", "1"})


def _url_list(value: Any) -> bool:
    if isinstance(value, list):
        items = value
    elif isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                items = json.loads(text)
            except ValueError:
                return False
        else:
            items = [part.strip() for part in text.split(",") if part.strip()]
    else:
        return False
    return isinstance(items, list) and all(isinstance(item, str) and _URL.match(item) for item in items)


def _json_list(value: Any) -> bool:
    if isinstance(value, list):
        return True
    if not isinstance(value, str):
        return False
    try:
        return isinstance(json.loads(value), list)
    except ValueError:
        return False


def _fernet(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return len(base64.urlsafe_b64decode(value.encode("ascii"))) == 32
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return False


def _type_ok(kind: str, value: Any, environments: list[str]) -> bool:
    checks = {
        "str": lambda v: isinstance(v, str),
        "int": _is_int,
        "bool": _is_bool,
        "email": lambda v: isinstance(v, str) and _EMAIL.match(v) is not None,
        "url_list": _url_list,
        "json_list": _json_list,
        "fernet": _fernet,
        "environment": lambda v: v in environments,
        "redis_url": lambda v: isinstance(v, str) and _REDIS_URL.match(v) is not None,
        "api_base_url": lambda v: isinstance(v, str) and _URL.match(v) is not None and v.rstrip("/").endswith("/api"),
        "time_or_empty": lambda v: v == "" or (isinstance(v, str) and _TIME.match(v) is not None),
    }
    return checks[kind](value)


def is_placeholder(value: Any) -> bool:
    """The backend's own rule outside local/ci: empty, `changethis`, or containing `example`."""
    text = "" if value is None else str(value)
    return text.strip() == "" or text == "changethis" or "example" in text.lower()


def _value_problems(
    name: str, rule: dict[str, Any], value: Any, *, environment: str, environments: list[str], exempt: bool, label: str
) -> list[str]:
    """What is wrong with one present setting (type, emptiness, placeholder, production-only rules)."""
    if isinstance(value, (dict, list)) and rule["type"] not in {"url_list", "json_list"}:
        return [f"{name}{label} must be a {rule['type']}, not a JSON {type(value).__name__}"]
    if not (rule["type"] == "str" and value == "") and not _type_ok(rule["type"], value, environments):
        return [f"{name}{label} must be a valid {rule['type']}"]
    problems = []
    if rule.get("nonempty") and str(value).strip() == "":
        problems.append(f"{name}{label} must not be empty")
    if rule.get("checked") and not exempt and is_placeholder(value):
        problems.append(
            f"{name}{label} holds a placeholder (empty, 'changethis' or containing 'example'), "
            f"which the backend refuses when ENVIRONMENT={environment}"
        )
    if environment in rule.get("false_in", []) and _as_bool(value):
        problems.append(f"{name}{label} must be false when ENVIRONMENT={environment}")
    return problems


def contract_problems(
    values: dict[str, Any] | str,
    contract: dict[str, Any],
    component: str,
    environment: str,
    sources: list[str] | None = None,
    *,
    where: str = "",
    complete: bool = True,
) -> list[str]:
    """Every way `values` breaks the contract of `component` (backend | scheduler).

    `sources` limits the check to settings of those sources (e.g. ["team"] for a team's
    secrets document); keys of other sources found in `values` are reported as coming from
    the wrong place. `environment` is the ENVIRONMENT the container runs with (for the
    placeholder rule). `complete=False` skips "missing" (a partial view of the settings).
    A JSON text is parsed first; a parse error never echoes the text.
    """
    if isinstance(values, str):
        try:
            values = json.loads(values)
        except ValueError:
            return [f"{where or component}: is not valid JSON"]
    if not isinstance(values, dict):
        return [f"{where or component}: must be a JSON object of settings"]
    spec = contract[component]
    settings: dict[str, dict[str, Any]] = spec["settings"]
    environments = list(spec.get("environments", []))
    exempt = environment in spec.get("placeholder_exempt_environments", [])
    wanted = {name: rule for name, rule in settings.items() if sources is None or rule["source"] in sources}
    label = f" in {where}" if where else ""
    problems: list[str] = []
    for name in sorted(values):
        if name not in settings:
            problems.append(f"{name}{label} is not a setting of the {component}'s contract")
        elif name not in wanted:
            problems.append(
                f"{name}{label} must not be set here: its source is '{settings[name]['source']}' "
                "(each setting comes from exactly one place)"
            )
    for name, rule in sorted(wanted.items()):
        if name in values:
            problems += _value_problems(
                name, rule, values[name], environment=environment, environments=environments, exempt=exempt, label=label
            )
        elif complete and not rule.get("optional"):
            problems.append(f"{name} is missing{label}")
    return problems


class FilterModule:
    """contract_problems: the contract's rules for preflight."""

    def filters(self) -> dict[str, Any]:
        return {"contract_problems": contract_problems}
