"""Read (or disturb) the scenario's load balancer on the emulator, for verify.yml.

  python alb_state.py dump  <alb name> <security group name>   -> JSON of the real state
  python alb_state.py drift <alb name> <security group name>   -> out-of-band changes, JSON of what was done

The endpoint and credentials come from the AWS_* environment verify.yml passes.
`dump` only reads (describe_* calls). `drift` makes the changes a console user
might: a foreign rule, a rule pointed elsewhere, a rule deleted, a rule moved,
an SNI certificate removed, a health check path changed, SSH opened on the
security group; the role must repair every one of them.
"""

from __future__ import annotations

import json
import sys

import boto3


def _clients():
    return boto3.client("elbv2"), boto3.client("ec2")


def _load_balancer(elb, name: str) -> dict | None:
    try:
        return elb.describe_load_balancers(Names=[name])["LoadBalancers"][0]
    except elb.exceptions.LoadBalancerNotFoundException:
        return None


def _target_groups(elb) -> dict[str, dict]:
    groups = elb.describe_target_groups()["TargetGroups"]
    return {g["TargetGroupName"]: g for g in groups}


def _security_group(ec2, name: str, vpc_id: str | None) -> dict | None:
    filters = [{"Name": "group-name", "Values": [name]}]
    if vpc_id:
        filters.append({"Name": "vpc-id", "Values": [vpc_id]})
    groups = ec2.describe_security_groups(Filters=filters)["SecurityGroups"]
    return groups[0] if groups else None


def _values(condition: dict) -> list[str]:
    for key in ("HostHeaderConfig", "PathPatternConfig", "SourceIpConfig"):
        if key in condition:
            return sorted(condition[key]["Values"])
    return sorted(condition.get("Values", []))


def _forward_arns(action: dict) -> list[str]:
    groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
    arns = [g["TargetGroupArn"] for g in groups]
    if not arns and action.get("TargetGroupArn"):
        arns = [action["TargetGroupArn"]]
    return sorted(arns)


def dump(alb_name: str, sg_name: str) -> dict:
    elb, ec2 = _clients()
    groups = _target_groups(elb)
    names_by_arn = {g["TargetGroupArn"]: name for name, g in groups.items()}
    lb = _load_balancer(elb, alb_name)
    state: dict = {"load_balancer": lb, "target_groups": {}, "listeners": {}, "rules": [], "raw_rules": []}
    for name, group in groups.items():
        attributes = elb.describe_target_group_attributes(TargetGroupArn=group["TargetGroupArn"])["Attributes"]
        summary = {k: v for k, v in group.items() if k != "LoadBalancerArns"}
        summary["Attributes"] = {a["Key"]: a["Value"] for a in attributes}
        state["target_groups"][name] = summary
    state["security_group"] = _security_group(ec2, sg_name, lb["VpcId"] if lb else None)
    if lb is None:
        return state
    attributes = elb.describe_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"])["Attributes"]
    state["attributes"] = {a["Key"]: a["Value"] for a in attributes}
    for listener in elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]:
        listener["ListenerCertificates"] = elb.describe_listener_certificates(ListenerArn=listener["ListenerArn"])[
            "Certificates"
        ]
        state["listeners"][str(listener["Port"])] = listener
    https = state["listeners"].get("443")
    if https:
        for rule in elb.describe_rules(ListenerArn=https["ListenerArn"])["Rules"]:
            if rule.get("IsDefault"):
                continue
            state["raw_rules"].append(rule)
            conditions = {c["Field"]: _values(c) for c in rule["Conditions"]}
            state["rules"].append(
                {
                    "priority": int(rule["Priority"]),
                    "rule_arn": rule["RuleArn"],
                    "hosts": conditions.get("host-header", []),
                    "paths": conditions.get("path-pattern", []),
                    "source_ips": conditions.get("source-ip", []),
                    "fixed_responses": [
                        a["FixedResponseConfig"] for a in rule["Actions"] if a["Type"] == "fixed-response"
                    ],
                    "target_groups": [
                        names_by_arn.get(arn, arn) for action in rule["Actions"] for arn in _forward_arns(action)
                    ],
                    "has_transforms_key": "Transforms" in rule,
                }
            )
    state["rules"].sort(key=lambda r: r["priority"])
    return state


def drift(alb_name: str, sg_name: str) -> dict:
    elb, ec2 = _clients()
    state = dump(alb_name, sg_name)
    https = state["listeners"]["443"]
    rules = {r["priority"]: r for r in state["rules"]}
    groups = state["target_groups"]
    done: dict = {}
    foreign = elb.create_rule(
        ListenerArn=https["ListenerArn"],
        Priority=999,
        Conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": ["foreign.example"]}}],
        Actions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200", "ContentType": "text/plain"}}],
    )["Rules"][0]
    done["foreign_rule_arn"] = foreign["RuleArn"]
    elb.modify_rule(
        RuleArn=rules[10]["rule_arn"],
        Actions=[{"Type": "forward", "TargetGroupArn": groups["molecule-qdrant"]["TargetGroupArn"]}],
    )
    done["repointed_rule_arn"] = rules[10]["rule_arn"]
    elb.delete_rule(RuleArn=rules[50]["rule_arn"])
    done["deleted_rule_arn"] = rules[50]["rule_arn"]
    elb.set_rule_priorities(RulePriorities=[{"RuleArn": rules[30]["rule_arn"], "Priority": 35}])
    done["moved_rule_arn"] = rules[30]["rule_arn"]
    sni = [c["CertificateArn"] for c in https["ListenerCertificates"] if not c.get("IsDefault")]
    elb.remove_listener_certificates(ListenerArn=https["ListenerArn"], Certificates=[{"CertificateArn": sni[0]}])
    done["removed_certificate_arn"] = sni[0]
    elb.modify_target_group(TargetGroupArn=groups["molecule-api"]["TargetGroupArn"], HealthCheckPath="/drifted")
    ec2.authorize_security_group_ingress(
        GroupId=state["security_group"]["GroupId"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    return done


def main() -> int:
    command, alb_name, sg_name = sys.argv[1:4]
    result = dump(alb_name, sg_name) if command == "dump" else drift(alb_name, sg_name)
    json.dump(result, sys.stdout, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
