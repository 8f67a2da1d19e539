"""Subnet arithmetic for the vpc role, with the standard library only.

ansible.utils' ipsubnet filter would do this but needs the netaddr package,
which the project does not otherwise depend on.
"""

from __future__ import annotations

import ipaddress


def vpc_subnet_cidr(cidr: str, newbits: int, index: int) -> str:
    """`10.20.0.0/16 | vpc_subnet_cidr(4, 8)` is 10.20.128.0/20 (like Terraform's cidrsubnet)."""
    network = ipaddress.ip_network(cidr, strict=True)
    newbits, index = int(newbits), int(index)
    if not 0 <= index < 2**newbits:
        raise ValueError(f"{cidr} has only {2**newbits} subnets of /{network.prefixlen + newbits}, not index {index}")
    size = network.num_addresses >> newbits
    return str(ipaddress.ip_network((int(network.network_address) + index * size, network.prefixlen + newbits)))


def vpc_subnet_cidrs(cidr: str, newbits: int, start: int, count: int) -> list[str]:
    """`count` consecutive subnets from index `start`: one per availability zone."""
    return [vpc_subnet_cidr(cidr, newbits, int(start) + i) for i in range(int(count))]


def vpc_cidr_within(cidr: str, parent: str) -> bool:
    """True when `cidr` is a valid IPv4 block inside `parent` (VPCs are IPv4 here)."""
    try:
        return ipaddress.IPv4Network(cidr, strict=True).subnet_of(ipaddress.IPv4Network(parent, strict=True))
    except (TypeError, ValueError):
        return False


def vpc_cidr_valid(cidr: str) -> bool:
    """True when `cidr` is an IPv4 network address with its prefix (no host bits set)."""
    try:
        return ipaddress.ip_network(cidr, strict=True).version == 4 and "/" in cidr
    except (TypeError, ValueError):
        return False


class FilterModule:
    def filters(self):
        return {
            "vpc_subnet_cidr": vpc_subnet_cidr,
            "vpc_subnet_cidrs": vpc_subnet_cidrs,
            "vpc_cidr_within": vpc_cidr_within,
            "vpc_cidr_valid": vpc_cidr_valid,
        }
