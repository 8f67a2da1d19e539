"""Each secret compared with the document it should hold, read from the emulator.

The expected documents come on stdin ({name: document}) and only key names, booleans,
tags and the description go out: verify must not print a value either.
"""

from __future__ import annotations

import json
import sys

import state


def read() -> dict:
    sm = state.client("secretsmanager")
    out = {}
    for name, wanted in json.load(sys.stdin).items():
        meta = state.secret(name)
        stored = json.loads(sm.get_secret_value(SecretId=name)["SecretString"])
        out[name] = {
            "keys": sorted(stored),
            "values_match": stored == wanted,
            "pending_deletion": "DeletedDate" in meta,
            "tags": meta["Tags"],
            "description": meta.get("Description", ""),
        }
    return out


if __name__ == "__main__":
    state.run(read)
