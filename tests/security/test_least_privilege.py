"""Least privilege, read back from the emulator after a full converge of inventories/local.

Fails on: any action with a wildcard; Resource "*" except for the few actions AWS
does not let us scope (listed below with the reason); a service principal in a
trust or resource policy without an aws:SourceAccount/aws:SourceArn condition;
security-group ingress from anywhere other than the load balancer's 80/443.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import boto3
import pytest

# Actions whose IAM resource type is "*" (no resource-level permissions), so
# "Resource": "*" is the only valid form:
# - ecr:GetAuthorizationToken: account-wide token (ECR API reference).
# - ec2:*NetworkInterface* / Describe*: what a VPC Lambda needs for its ENIs
#   (AWSLambdaVPCAccessExecutionRole); Describe* never take resources.
# - logs:DescribeLogGroups and cloudwatch:PutMetricData: no resource types.
# - tag:GetResources: how AWS Backup resolves a tag-based selection (no resource types).
UNSCOPABLE = {
    "ecr:getauthorizationtoken",
    "ec2:createnetworkinterface",
    "ec2:describenetworkinterfaces",
    "ec2:deletenetworkinterface",
    "ec2:assignprivateipaddresses",
    "ec2:unassignprivateipaddresses",
    "ec2:describesubnets",
    "ec2:describesecuritygroups",
    "ec2:describevpcs",
    "logs:describeloggroups",
    "cloudwatch:putmetricdata",
    "tag:getresources",
}
SOURCE_KEYS = {"aws:sourceaccount", "aws:sourcearn"}


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _doc(raw: Any) -> dict:
    if isinstance(raw, dict):
        return raw
    return json.loads(urllib.parse.unquote(raw))


def _condition_keys(statement: dict) -> set[str]:
    return {key.lower() for block in (statement.get("Condition") or {}).values() for key in block}


def _service_principals(statement: dict) -> list[str]:
    principal = statement.get("Principal") or {}
    if not isinstance(principal, dict):
        return []
    return _as_list(principal.get("Service"))


def _check_identity_policy(where: str, doc: dict, problems: list[str]) -> None:
    for statement in _as_list(doc.get("Statement")):
        if statement.get("Effect") != "Allow":
            continue
        actions = [a.lower() for a in _as_list(statement.get("Action"))]
        if "NotAction" in statement:
            problems.append(f"{where}: NotAction grants everything else")
        for action in actions:
            if "*" in action:
                problems.append(f"{where}: wildcard action {action}")
        if "*" in _as_list(statement.get("Resource")):
            broad = [a for a in actions if a not in UNSCOPABLE]
            if broad:
                problems.append(f"{where}: Resource '*' for scopable actions {broad}")


def _check_resource_policy(where: str, doc: dict, problems: list[str]) -> None:
    for statement in _as_list(doc.get("Statement")):
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        if principal == "*" or (isinstance(principal, dict) and "*" in _as_list(principal.get("AWS"))):
            problems.append(f"{where}: allows any principal")
        if _service_principals(statement) and not (_condition_keys(statement) & SOURCE_KEYS):
            problems.append(f"{where}: service principal {_service_principals(statement)} without source condition")
        for action in _as_list(statement.get("Action")):
            if action == "*" or action.endswith(":*"):
                problems.append(f"{where}: wildcard action {action}")


@pytest.fixture(scope="module")
def aws(deployed_local):
    return {name: boto3.client(name) for name in ("iam", "s3", "sqs", "lambda", "ec2", "elbv2", "sns", "kms")}


def test_iam_roles_are_least_privilege(aws) -> None:
    iam = aws["iam"]
    problems: list[str] = []
    roles = [r for page in iam.get_paginator("list_roles").paginate() for r in page["Roles"]]
    ours = [r for r in roles if "mediamind" in r["RoleName"].lower()]
    assert ours, "no MediaMind IAM role found after the converge"
    for role in ours:
        name = role["RoleName"]
        trust = _doc(role["AssumeRolePolicyDocument"])
        for statement in _as_list(trust.get("Statement")):
            if _service_principals(statement) and not (_condition_keys(statement) & SOURCE_KEYS):
                problems.append(f"role {name} trust: {_service_principals(statement)} without source condition")
        for policy_name in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            doc = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
            _check_identity_policy(f"role {name} inline {policy_name}", _doc(doc), problems)
        for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
            policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
            version = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"])
            _check_identity_policy(
                f"role {name} managed {attached['PolicyName']}", _doc(version["PolicyVersion"]["Document"]), problems
            )
    assert not problems, "\n".join(problems)


def test_resource_policies_condition_service_principals(aws, deployed_local) -> None:
    problems: list[str] = []
    bucket_policy = aws["s3"].get_bucket_policy(Bucket="eutop-mediamind")["Policy"]
    _check_resource_policy("bucket eutop-mediamind", _doc(bucket_policy), problems)
    for fn in aws["lambda"].list_functions()["Functions"]:
        try:
            policy = aws["lambda"].get_policy(FunctionName=fn["FunctionName"])["Policy"]
        except aws["lambda"].exceptions.ResourceNotFoundException:
            continue
        _check_resource_policy(f"lambda {fn['FunctionName']}", _doc(policy), problems)
    for url in aws["sqs"].list_queues().get("QueueUrls", []):
        attrs = aws["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {})
        if "Policy" in attrs:
            _check_resource_policy(f"queue {url}", _doc(attrs["Policy"]), problems)
    for topic in aws["sns"].list_topics().get("Topics", []):
        attrs = aws["sns"].get_topic_attributes(TopicArn=topic["TopicArn"])["Attributes"]
        if "Policy" in attrs:
            _check_resource_policy(f"topic {topic['TopicArn']}", _doc(attrs["Policy"]), problems)
    for alias in aws["kms"].list_aliases()["Aliases"]:
        if "mediamind" in alias["AliasName"] and alias.get("TargetKeyId"):
            policy = aws["kms"].get_key_policy(KeyId=alias["TargetKeyId"], PolicyName="default")["Policy"]
            _check_resource_policy(f"key {alias['AliasName']}", _doc(policy), problems)
    assert not problems, "\n".join(problems)


def test_only_the_load_balancer_is_open_to_the_internet(aws) -> None:
    ec2 = aws["ec2"]
    lb_groups = {
        group
        for lb in aws["elbv2"].describe_load_balancers()["LoadBalancers"]
        for group in lb.get("SecurityGroups", [])
    }
    problems = []
    for group in ec2.describe_security_groups()["SecurityGroups"]:
        for perm in group.get("IpPermissions", []):
            open_v4 = any(r.get("CidrIp") == "0.0.0.0/0" for r in perm.get("IpRanges", []))
            open_v6 = any(r.get("CidrIpv6") == "::/0" for r in perm.get("Ipv6Ranges", []))
            if not (open_v4 or open_v6):
                continue
            ports = (perm.get("FromPort"), perm.get("ToPort"))
            if group["GroupId"] in lb_groups and ports in {(80, 80), (443, 443)}:
                continue
            problems.append(f"{group['GroupId']} ({group['GroupName']}) open to the internet on {ports}")
    assert not problems, "\n".join(problems)
