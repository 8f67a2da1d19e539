"""Read (or disturb) the scenario's load balancer on the emulator, for verify.yml.

  scenario_state.py dump  <alb name> <security group name>   -> JSON of the real state
  scenario_state.py drift <alb name> <security group name>   -> out-of-band changes, JSON of what was done

The clients come from the shared reader (.config/molecule/state.py).
`dump` only reads (describe_* calls). `drift` makes the changes a console user
might: a foreign rule, a rule pointed elsewhere, a rule deleted, a rule moved,
an SNI certificate removed, a health check path changed, SSH opened on the
security group; the role must repair every one of them.
"""

from __future__ import annotations

import state


def _load_balancer(elb, name: str) -> dict | None:
    try:
        return elb.describe_load_balancers(Names=[name])["LoadBalancers"][0]
    except elb.exceptions.LoadBalancerNotFoundException:
        return None


def _target_groups(elb) -> dict[str, dict]:
    groups = elb.describe_target_groups()["TargetGroups"]
    return {g["TargetGroupName"]: g for g in groups}


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
    elb = state.client("elbv2")
    groups = _target_groups(elb)
    names_by_arn = {g["TargetGroupArn"]: name for name, g in groups.items()}
    lb = _load_balancer(elb, alb_name)
    found: dict = {"load_balancer": lb, "target_groups": {}, "listeners": {}, "rules": [], "raw_rules": []}
    for name, group in groups.items():
        attributes = elb.describe_target_group_attributes(TargetGroupArn=group["TargetGroupArn"])["Attributes"]
        summary = {k: v for k, v in group.items() if k != "LoadBalancerArns"}
        summary["Attributes"] = {a["Key"]: a["Value"] for a in attributes}
        found["target_groups"][name] = summary
    found["security_group"] = state.security_group(sg_name, lb["VpcId"] if lb else None)
    if lb is None:
        return found
    attributes = elb.describe_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"])["Attributes"]
    found["attributes"] = {a["Key"]: a["Value"] for a in attributes}
    for listener in elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]:
        listener["ListenerCertificates"] = elb.describe_listener_certificates(ListenerArn=listener["ListenerArn"])[
            "Certificates"
        ]
        found["listeners"][str(listener["Port"])] = listener
    https = found["listeners"].get("443")
    if https:
        for rule in elb.describe_rules(ListenerArn=https["ListenerArn"])["Rules"]:
            if rule.get("IsDefault"):
                continue
            found["raw_rules"].append(rule)
            conditions = {c["Field"]: _values(c) for c in rule["Conditions"]}
            found["rules"].append(
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
    found["rules"].sort(key=lambda r: r["priority"])
    return found


def drift(alb_name: str, sg_name: str) -> dict:
    elb, ec2 = state.client("elbv2"), state.client("ec2")
    current = dump(alb_name, sg_name)
    https = current["listeners"]["443"]
    rules = {r["priority"]: r for r in current["rules"]}
    groups = current["target_groups"]
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
        GroupId=current["security_group"]["GroupId"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    return done


if __name__ == "__main__":
    state.run({"dump": dump, "drift": drift})
