"""Checks of the qdrant role's inputs that Jinja cannot do well (CIDR parsing)."""

from __future__ import annotations

import ipaddress
from typing import Any


def qdrant_cidr_problems(values: Any, name: str = "qdrant_source_cidrs") -> list[str]:
    """One message per entry of `values` that is no CIDR the load balancer's source-ip condition takes."""
    if values is None:
        return []
    if isinstance(values, str) or not isinstance(values, list):
        return [f"{name} must be a list of CIDRs, not {values!r}"]
    problems = []
    for value in values:
        try:
            network = ipaddress.ip_network(str(value).strip(), strict=True)
        except ValueError:
            problems.append(f"{name}: {value!r} is not an IPv4/IPv6 CIDR (with no host bits set)")
            continue
        if network.prefixlen == 0:
            problems.append(f"{name}: {value!r} admits every address: leave {name} empty instead")
    # The ALB takes at most 3 values per condition (and 5 per rule, the host counting one).
    if len(values) > 3:
        problems.append(f"{name} has {len(values)} entries; the load balancer's rule takes at most 3")
    return problems


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"qdrant_cidr_problems": qdrant_cidr_problems}
