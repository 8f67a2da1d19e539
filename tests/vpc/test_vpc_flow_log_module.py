"""mediamind.platform modules/vpc_flow_log.py against the emulator, through `ansible -m`.

The four passes of the house style on one flow log (check, real, check again,
real again), then what only this module decides: a changed immutable setting
replaces the flow log (and check mode only says so), tags change in place,
absent removes every flow log of the VPC. State is read back with boto3.
"""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest
from conftest import run_module

ROLE_ARN = "arn:aws:iam::123456789012:role/test-flow-logs"

pytestmark = pytest.mark.slow


def _run(args: dict[str, Any], check: bool = False) -> dict[str, Any]:
    result = run_module("mediamind.platform.vpc_flow_log", args, check=check)
    assert not result.get("failed"), result.get("msg")
    return result


@pytest.fixture
def vpc(local_stack) -> Any:
    ec2 = boto3.client("ec2", region_name="eu-central-1")
    vpc_id = ec2.create_vpc(CidrBlock="10.123.0.0/16")["Vpc"]["VpcId"]
    group = f"/test/{uuid.uuid4().hex[:8]}"
    yield ec2, vpc_id, group
    ids = [f["FlowLogId"] for f in _flow_logs(ec2, vpc_id)]
    if ids:
        ec2.delete_flow_logs(FlowLogIds=ids)
    ec2.delete_vpc(VpcId=vpc_id)


def _flow_logs(ec2, vpc_id: str) -> list[dict[str, Any]]:
    return ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc_id]}])["FlowLogs"]


def test_four_passes_replace_tags_and_absent(vpc) -> None:
    ec2, vpc_id, group = vpc
    wanted = {
        "resource_id": vpc_id,
        "log_group_name": group,
        "deliver_logs_permission_arn": ROLE_ARN,
        "traffic_type": "ALL",
        "tags": {"Name": "t"},
    }

    assert _run(wanted, check=True)["changed"] is True
    assert _flow_logs(ec2, vpc_id) == []

    created = _run(wanted)
    assert created["changed"] is True
    [flow_log] = _flow_logs(ec2, vpc_id)
    assert flow_log["FlowLogId"] == created["flow_log"]["flow_log_id"]
    assert (flow_log["TrafficType"], flow_log["LogGroupName"], flow_log["DeliverLogsPermissionArn"]) == (
        "ALL",
        group,
        ROLE_ARN,
    )
    assert flow_log["MaxAggregationInterval"] == 600

    assert _run(wanted, check=True)["changed"] is False
    assert _run(wanted)["changed"] is False

    # Traffic type cannot change in place: check mode says "replace", changes nothing.
    reject = dict(wanted, traffic_type="REJECT")
    preview = _run(reject, check=True)
    assert preview["changed"] is True
    assert preview["flow_log_ids_removed"] == [flow_log["FlowLogId"]]
    assert [f["FlowLogId"] for f in _flow_logs(ec2, vpc_id)] == [flow_log["FlowLogId"]]
    replaced = _run(reject)
    [new] = _flow_logs(ec2, vpc_id)
    assert new["FlowLogId"] != flow_log["FlowLogId"]
    assert new["TrafficType"] == "REJECT"
    assert replaced["flow_log_ids_removed"] == [flow_log["FlowLogId"]]

    # Tags change in place (same flow log id).
    retagged = _run(dict(reject, tags={"Name": "t", "Extra": "x"}))
    assert retagged["changed"] is True
    [same] = _flow_logs(ec2, vpc_id)
    assert same["FlowLogId"] == new["FlowLogId"]
    assert {t["Key"]: t["Value"] for t in same["Tags"]} == {"Name": "t", "Extra": "x"}

    absent = {"resource_id": vpc_id, "state": "absent"}
    assert _run(absent, check=True)["changed"] is True
    assert len(_flow_logs(ec2, vpc_id)) == 1
    assert _run(absent)["changed"] is True
    assert _flow_logs(ec2, vpc_id) == []
    assert _run(absent)["changed"] is False
