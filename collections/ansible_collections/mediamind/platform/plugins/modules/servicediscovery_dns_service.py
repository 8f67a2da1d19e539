#!/usr/bin/python
"""Manage a Cloud Map private DNS namespace and one DNS service in it (an internal name)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: servicediscovery_dns_service
short_description: Manage a Cloud Map private DNS namespace and one service in it
description:
  - Ensures that the private DNS namespace O(namespace) exists in O(vpc_id) and holds a service O(name) that
    answers A records (multivalue, O(ttl) seconds) with a custom health check, the shape ECS needs to register
    a Fargate service's tasks (C(serviceRegistries)). The name the tasks are then found under is
    RV(dns_name), C(<name>.<namespace>), resolvable only inside the VPC.
  - Describes once and compares locally; the TTL and the tags are updated in place. Creating a namespace is
    asynchronous (Cloud Map creates a private Route 53 hosted zone), so the module waits for the operation.
  - O(state=absent) deletes the service (retrying while ECS still deregisters its instances), then the namespace
    when no other service is left in it.
  - Neither amazon.aws nor community.aws has a Cloud Map module; this one follows amazon.aws' ec2_vpc_igw.
options:
  namespace:
    description: Name of the private DNS namespace (a DNS domain, e.g. C(mediamind.internal)).
    required: true
    type: str
  vpc_id:
    description:
      - The VPC the namespace's hosted zone is associated with. Required with O(state=present).
      - When several namespaces of that name exist, the one whose hosted zone is in this VPC is used.
    type: str
  name:
    description: Name of the service (the first DNS label).
    required: true
    type: str
  description:
    description: Description of the namespace and the service.
    type: str
    default: ""
  ttl:
    description: Seconds resolvers may cache the A records.
    type: int
    default: 10
  wait_timeout:
    description: Seconds to wait for the namespace to be created or deleted, and for the service's instances to go.
    type: int
    default: 300
  tags:
    description: Tags of the namespace and the service.
    type: dict
    aliases: [resource_tags]
  purge_tags:
    description: Remove tags not in O(tags).
    type: bool
    default: true
  state:
    description: Whether the namespace and the service exist.
    choices: [present, absent]
    default: present
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Ensure qdrant.mediamind.internal
  servicediscovery_dns_service:
    namespace: mediamind.internal
    vpc_id: vpc-0123456789abcdef0
    name: qdrant
    ttl: 10
    tags:
      Project: mediamind
"""

RETURN = r"""
dns_name:
  description: The name the service's instances resolve under (C(<name>.<namespace>)); empty when absent.
  returned: always
  type: str
  sample: qdrant.mediamind.internal
namespace:
  description: The namespace (ids are null in check mode before it exists; empty when absent).
  returned: always
  type: dict
  contains:
    id: {description: Namespace id, type: str}
    arn: {description: Namespace ARN, type: str}
    name: {description: Namespace name, type: str}
    hosted_zone_id: {description: The private hosted zone Cloud Map made, type: str}
service:
  description: The service (ids are null in check mode before it exists; empty when absent).
  returned: always
  type: dict
  contains:
    id: {description: Service id, type: str}
    arn: {description: Service ARN (what ECS serviceRegistries takes), type: str}
    name: {description: Service name, type: str}
    ttl: {description: TTL of the A records, type: int}
    tags: {description: Tags, type: dict}
"""

import contextlib
from typing import Any

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports the missing dependency
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags
from ansible_collections.mediamind.platform.plugins.module_utils.common import (
    aws_retry,
    dict_to_tags,
    make_diff,
    tags_to_dict,
    wait_until,
)

POLL_SECONDS = 5


@aws_retry
def _namespaces(client, name: str) -> list[dict[str, Any]]:
    paginator = client.get_paginator("list_namespaces")
    pages = paginator.paginate(Filters=[{"Name": "TYPE", "Values": ["DNS_PRIVATE"], "Condition": "EQ"}])
    return [ns for ns in pages.build_full_result()["Namespaces"] if ns["Name"] == name]


@aws_retry
def _services(client, namespace_id: str) -> list[dict[str, Any]]:
    paginator = client.get_paginator("list_services")
    pages = paginator.paginate(Filters=[{"Name": "NAMESPACE_ID", "Values": [namespace_id], "Condition": "EQ"}])
    return pages.build_full_result()["Services"]


@aws_retry
def _tags(client, arn: str) -> dict[str, str]:
    return tags_to_dict(client.list_tags_for_resource(ResourceARN=arn)["Tags"])


@aws_retry
def _operation(client, operation_id: str) -> dict[str, Any]:
    return client.get_operation(OperationId=operation_id)["Operation"]


def _hosted_zone(ns: dict[str, Any]) -> str | None:
    return ((ns.get("Properties") or {}).get("DnsProperties") or {}).get("HostedZoneId")


class DnsServiceManager:
    def __init__(self, module: AnsibleAWSModule) -> None:
        self.module = module
        self.params = module.params
        self.client = module.client("servicediscovery")
        self.changed = False

    # ------------------------------------------------------------------ reads

    def _find_namespace(self) -> dict[str, Any] | None:
        found = _namespaces(self.client, self.params["namespace"])
        if len(found) > 1 and self.params["vpc_id"]:
            # The same private name may exist in several VPCs: pick the one whose hosted zone is in ours.
            route53 = self.module.client("route53")
            for ns in found:
                zone = route53.get_hosted_zone(Id=_hosted_zone(ns))
                if any(v.get("VPCId") == self.params["vpc_id"] for v in zone.get("VPCs") or []):
                    return ns
            return None
        return found[0] if found else None

    def _find_service(self, namespace_id: str) -> dict[str, Any] | None:
        return next((s for s in _services(self.client, namespace_id) if s["Name"] == self.params["name"]), None)

    @staticmethod
    def _ns_summary(ns: dict[str, Any] | None, tags: dict[str, str]) -> dict[str, Any]:
        if not ns:
            return {}
        return {
            "id": ns["Id"],
            "arn": ns["Arn"],
            "name": ns["Name"],
            "hosted_zone_id": _hosted_zone(ns),
            "tags": tags,
        }

    @staticmethod
    def _svc_summary(svc: dict[str, Any] | None, tags: dict[str, str]) -> dict[str, Any]:
        if not svc:
            return {}
        records = (svc.get("DnsConfig") or {}).get("DnsRecords") or []
        return {
            "id": svc["Id"],
            "arn": svc["Arn"],
            "name": svc["Name"],
            "ttl": next((r["TTL"] for r in records if r["Type"] == "A"), None),
            "tags": tags,
        }

    # ---------------------------------------------------------------- changes

    def _wanted_tags(self, current: dict[str, str]) -> dict[str, str]:
        if self.params["tags"] is None:
            return current
        to_set, to_remove = compare_aws_tags(current, self.params["tags"], self.params["purge_tags"])
        return {k: v for k, v in {**current, **to_set}.items() if k not in to_remove}

    def _retag(self, arn: str, current: dict[str, str], wanted: dict[str, str]) -> None:
        to_set, to_remove = compare_aws_tags(current, wanted, True)
        if not (to_set or to_remove):
            return
        self.changed = True
        if self.module.check_mode:
            return
        if to_set:
            aws_retry(self.client.tag_resource)(ResourceARN=arn, Tags=dict_to_tags(to_set))
        if to_remove:
            aws_retry(self.client.untag_resource)(ResourceARN=arn, TagKeys=to_remove)

    def _await(self, operation_id: str, what: str) -> None:
        def failed(op: dict[str, Any]) -> None:
            self.module.fail_json(msg=f"{what}: Cloud Map operation {operation_id} is {op.get('Status')}", operation=op)

        op, _ = wait_until(
            lambda: _operation(self.client, operation_id),
            lambda op: op["Status"] in ("SUCCESS", "FAIL"),
            timeout=self.params["wait_timeout"],
            poll=POLL_SECONDS,
        )
        if op["Status"] != "SUCCESS":
            failed(op)

    def _ensure_namespace(self) -> tuple[dict[str, Any], dict[str, Any]]:
        ns = self._find_namespace()
        if ns is None:
            self.changed = True
            wanted_tags = self._wanted_tags({})
            name = self.params["namespace"]
            after = {"id": None, "arn": None, "name": name, "hosted_zone_id": None, "tags": wanted_tags}
            if self.module.check_mode:
                return {}, after
            request: dict[str, Any] = {
                "Name": self.params["namespace"],
                "Vpc": self.params["vpc_id"],
                "Description": self.params["description"],
            }
            if wanted_tags:
                request["Tags"] = dict_to_tags(wanted_tags)
            operation = aws_retry(self.client.create_private_dns_namespace)(**request)["OperationId"]
            self._await(operation, f"creating the namespace {self.params['namespace']}")
            created = self._find_namespace()
            if created is None:
                raise RuntimeError(f"the namespace {self.params['namespace']} was created but is not listed")
            return {}, self._ns_summary(created, _tags(self.client, created["Arn"]))
        tags = _tags(self.client, ns["Arn"])
        before = self._ns_summary(ns, tags)
        wanted_tags = self._wanted_tags(tags)
        self._retag(ns["Arn"], tags, wanted_tags)
        return before, dict(before, tags=wanted_tags)

    def _ensure_service(self, namespace_id: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
        p = self.params
        svc = self._find_service(namespace_id) if namespace_id else None
        if svc is None:
            self.changed = True
            wanted_tags = self._wanted_tags({})
            after = {"id": None, "arn": None, "name": p["name"], "ttl": p["ttl"], "tags": wanted_tags}
            if self.module.check_mode:
                return {}, after
            request: dict[str, Any] = {
                "Name": p["name"],
                "NamespaceId": namespace_id,
                "Description": p["description"],
                # MULTIVALUE A records: one per healthy task; ECS reports each task's health
                # through the custom health check (Route 53 health checks cannot reach private IPs).
                "DnsConfig": {"RoutingPolicy": "MULTIVALUE", "DnsRecords": [{"Type": "A", "TTL": p["ttl"]}]},
                "HealthCheckCustomConfig": {"FailureThreshold": 1},
            }
            if wanted_tags:
                request["Tags"] = dict_to_tags(wanted_tags)
            created = aws_retry(self.client.create_service)(**request)["Service"]
            return {}, self._svc_summary(created, wanted_tags)
        tags = _tags(self.client, svc["Arn"])
        before = self._svc_summary(svc, tags)
        if before["ttl"] != p["ttl"]:
            self.changed = True
            if not self.module.check_mode:
                update = {"DnsConfig": {"DnsRecords": [{"Type": "A", "TTL": p["ttl"]}]}}
                aws_retry(self.client.update_service)(Id=svc["Id"], Service=update)
        wanted_tags = self._wanted_tags(tags)
        self._retag(svc["Arn"], tags, wanted_tags)
        return before, dict(before, ttl=p["ttl"], tags=wanted_tags)

    def ensure_present(self) -> dict[str, Any]:
        ns_before, ns_after = self._ensure_namespace()
        svc_before, svc_after = self._ensure_service(ns_after.get("id"))
        before = {"namespace": ns_before, "service": svc_before}
        return self._result(before, {"namespace": ns_after, "service": svc_after})

    def ensure_absent(self) -> dict[str, Any]:
        ns = self._find_namespace()
        if ns is None:
            return self._result({}, {})
        svc = self._find_service(ns["Id"])
        before = {
            "namespace": self._ns_summary(ns, _tags(self.client, ns["Arn"])),
            "service": self._svc_summary(svc, _tags(self.client, svc["Arn"])) if svc else {},
        }
        others = [s for s in _services(self.client, ns["Id"]) if s["Name"] != self.params["name"]]
        self.changed = bool(svc) or not others
        if self.module.check_mode:
            return self._result(before, {"namespace": before["namespace"] if others else {}, "service": {}})
        if svc:
            self._delete_service(svc)
        if others:
            # Someone else's service lives there too: the namespace stays.
            return self._result(before, {"namespace": before["namespace"], "service": {}})
        operation = aws_retry(self.client.delete_namespace)(Id=ns["Id"])["OperationId"]
        self._await(operation, f"deleting the namespace {ns['Name']}")
        return self._result(before, {"namespace": {}, "service": {}})

    def _delete_service(self, svc: dict[str, Any]) -> None:
        # ECS deregisters a deleted service's tasks asynchronously; Cloud Map refuses to delete a
        # service that still has instances (ResourceInUse), so retry until they are gone.
        def attempt() -> bool:
            try:
                aws_retry(self.client.delete_service)(Id=svc["Id"])
            except self.client.exceptions.ResourceInUse:
                return False
            except self.client.exceptions.ServiceNotFound:
                pass
            return True

        _, deleted = wait_until(attempt, bool, timeout=self.params["wait_timeout"], poll=POLL_SECONDS)
        if not deleted:
            self.module.fail_json(msg=f"the Cloud Map service {svc['Name']} still has instances registered")

    def _result(self, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
        ns, svc = after.get("namespace") or {}, after.get("service") or {}
        return {
            "changed": self.changed,
            "namespace": ns,
            "service": svc,
            "dns_name": f"{svc['name']}.{ns['name']}" if ns and svc else "",
            "diff": make_diff(before, after),
        }


def main() -> None:
    argument_spec = dict(
        namespace=dict(type="str", required=True),
        vpc_id=dict(type="str"),
        name=dict(type="str", required=True),
        description=dict(type="str", default=""),
        ttl=dict(type="int", default=10),
        wait_timeout=dict(type="int", default=300),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("state", "present", ["vpc_id"])],
    )
    manager = DnsServiceManager(module)
    try:
        result = manager.ensure_present() if module.params["state"] == "present" else manager.ensure_absent()
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg=f"Failed to manage the Cloud Map service {module.params['name']}")
    except RuntimeError as e:
        module.fail_json(msg=f"Failed to manage the Cloud Map service {module.params['name']}: {e}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
