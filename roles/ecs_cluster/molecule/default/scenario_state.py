"""The cluster with its settings and tags, read from the emulator (no collection module lists settings).

argv: cluster name.
"""

from __future__ import annotations

import state


def read(name: str) -> list[dict]:
    return state.client("ecs").describe_clusters(clusters=[name], include=["SETTINGS", "TAGS"])["clusters"]


if __name__ == "__main__":
    state.run(read)
