"""The vpc role's subnet arithmetic (mediamind.platform filter/vpc_cidr.py)."""

from __future__ import annotations

import ipaddress

import pytest
from ansible_collections.mediamind.platform.plugins.filter import vpc_cidr
from hypothesis import given
from hypothesis import strategies as st


def test_default_layout_of_the_platform_network() -> None:
    # defaults: 10.20.0.0/16, newbits 4, 2 AZs; private subnets from the middle of the range.
    assert vpc_cidr.vpc_subnet_cidrs("10.20.0.0/16", 4, 0, 2) == ["10.20.0.0/20", "10.20.16.0/20"]
    assert vpc_cidr.vpc_subnet_cidrs("10.20.0.0/16", 4, 8, 2) == ["10.20.128.0/20", "10.20.144.0/20"]


def test_index_outside_the_block_is_refused() -> None:
    with pytest.raises(ValueError, match="only 16 subnets"):
        vpc_cidr.vpc_subnet_cidr("10.20.0.0/16", 4, 16)


@pytest.mark.parametrize(
    ("cidr", "valid"),
    [("10.20.0.0/16", True), ("10.20.0.1/16", False), ("10.20.0.0", False), ("fd00::/48", False), ("x", False)],
)
def test_cidr_validation(cidr: str, valid: bool) -> None:
    assert vpc_cidr.vpc_cidr_valid(cidr) is valid


def test_within() -> None:
    assert vpc_cidr.vpc_cidr_within("10.20.16.0/20", "10.20.0.0/16")
    assert not vpc_cidr.vpc_cidr_within("10.21.0.0/20", "10.20.0.0/16")
    assert not vpc_cidr.vpc_cidr_within("garbage", "10.20.0.0/16")


@given(
    prefix=st.integers(min_value=16, max_value=24),
    newbits=st.integers(min_value=1, max_value=4),
    second_octet=st.integers(min_value=0, max_value=255),
)
def test_subnets_tile_the_block_without_overlap(prefix: int, newbits: int, second_octet: int) -> None:
    parent = str(ipaddress.ip_network(f"10.{second_octet}.0.0/{prefix}", strict=False))
    subnets = [ipaddress.ip_network(c) for c in vpc_cidr.vpc_subnet_cidrs(parent, newbits, 0, 2**newbits)]
    assert all(s.prefixlen == prefix + newbits for s in subnets)
    assert all(vpc_cidr.vpc_cidr_within(str(s), parent) for s in subnets)
    assert sum(s.num_addresses for s in subnets) == ipaddress.ip_network(parent).num_addresses
    assert len({s.network_address for s in subnets}) == len(subnets)
