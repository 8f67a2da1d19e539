#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: elasticache_replication_group
short_description: Manage an ElastiCache (Redis OSS or Valkey) replication group with TLS and an AUTH token
description:
  - Creates, modifies or deletes a cluster-mode-disabled replication group (one shard, a primary and
    optional replicas) with in-transit and at-rest encryption and an AUTH token.
  - C(community.aws.elasticache) manages single cache clusters only and cannot do this.
  - Describes the group once and compares locally; supports check mode and diff.
  - The AUTH token is write-only in the AWS API, so the module cannot detect that it differs.
    It is sent at creation; on an existing group it is only sent when O(auth_token_update) is
    V(rotate) (the new token is accepted next to the old one) or V(set) (only the new token is
    accepted; AWS allows this only after a rotate). The token is never returned.
  - Settings AWS cannot modify (encryption, port, subnet group, number of nodes, engine version,
    KMS key) are create-only. A drift of in-transit or at-rest encryption fails the task (the group must be
    replaced); other create-only drifts are reported as warnings.
options:
  replication_group_id:
    description: Identifier of the replication group (1-40 lowercase letters, digits, hyphens).
    type: str
    required: true
  state:
    description: Whether the group should exist.
    type: str
    choices: [present, absent]
    default: present
  description:
    description: Description of the group.
    type: str
  engine:
    description: Cache engine.
    type: str
    choices: [redis, valkey]
    default: valkey
  engine_version:
    description: Engine version at creation (V(8.0) picks the newest 8.0.x). Create-only.
    type: str
  cache_node_type:
    description: Node type, for example V(cache.t4g.micro). Required to create.
    type: str
  num_cache_clusters:
    description: Nodes in the shard (1 = primary only). Create-only. At least 2 with O(automatic_failover).
    type: int
    default: 1
  automatic_failover:
    description: Promote a replica automatically when the primary fails.
    type: bool
    default: false
  multi_az:
    description: Put replicas in other availability zones than the primary (needs O(automatic_failover)).
    type: bool
    default: false
  cache_subnet_group_name:
    description: Cache subnet group (private subnets). Create-only.
    type: str
  security_group_ids:
    description: VPC security groups of the nodes.
    type: list
    elements: str
  transit_encryption:
    description: TLS between clients and nodes (rediss://). Create-only.
    type: bool
    default: true
  at_rest_encryption:
    description: Encrypt data on disk and in snapshots. Create-only.
    type: bool
    default: true
  kms_key_id:
    description: KMS key for at-rest encryption (default the AWS managed key). Create-only.
    type: str
  auth_token:
    description:
      - The AUTH token (16-128 printable characters without C(@), C(/), C(") or space).
      - Needs O(transit_encryption).
      - Write-only in AWS; see O(auth_token_update).
    type: str
  auth_token_update:
    description:
      - What to do with O(auth_token) on an existing group. V(never) leaves the group's token alone.
      - V(rotate) adds O(auth_token) next to the current one (both accepted).
        It reports a change every time it is used, so pass it for one run only.
      - V(set) makes O(auth_token) the only one (after a V(rotate), once every client uses the new token).
    type: str
    choices: [never, rotate, set]
    default: never
  port:
    description: Port the nodes listen on. Create-only.
    type: int
    default: 6379
  snapshot_retention_limit:
    description: Days automatic snapshots are kept (0 disables them).
    type: int
  snapshot_window:
    description: Daily UTC window for automatic snapshots, for example V(03:00-04:00).
    type: str
  auto_minor_version_upgrade:
    description: Apply minor engine versions in the maintenance window.
    type: bool
    default: true
  apply_immediately:
    description: Apply modifications now instead of in the next maintenance window.
    type: bool
    default: true
  final_snapshot_identifier:
    description: On O(state=absent), name of a final snapshot taken before deletion.
    type: str
  tags:
    description: Tags of the group.
    type: dict
    aliases: [resource_tags]
  purge_tags:
    description: Remove tags that are not in O(tags).
    type: bool
    default: true
  wait:
    description: Wait until the group is available (present) or gone (absent).
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait.
    type: int
    default: 1800
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - MediaMind team
"""

EXAMPLES = r"""
- name: Run a TLS Valkey replication group with an AUTH token
  elasticache_replication_group:
    replication_group_id: mediamind
    engine: valkey
    cache_node_type: cache.t4g.small
    num_cache_clusters: 2
    automatic_failover: true
    multi_az: true
    cache_subnet_group_name: mediamind
    security_group_ids: [sg-0123456789abcdef0]
    auth_token: "{{ vault_elasticache_auth_token }}"
    snapshot_retention_limit: 7
  no_log: true

- name: Rotate the AUTH token (old and new accepted until the next step)
  elasticache_replication_group:
    replication_group_id: mediamind
    auth_token: "{{ new_token }}"
    auth_token_update: rotate
  no_log: true

- name: Remove the group with a final snapshot
  elasticache_replication_group:
    replication_group_id: mediamind
    state: absent
    final_snapshot_identifier: mediamind-final
"""

RETURN = r"""
replication_group:
  description: The group's settings after the run (empty when absent). Never contains the token.
  returned: always
  type: dict
  contains:
    replication_group_id: {description: Identifier., type: str}
    arn: {description: ARN., type: str}
    status: {description: Status (available, creating, modifying, deleting...)., type: str}
    primary_endpoint: {description: Host name of the primary (write) endpoint., type: str}
    reader_endpoint: {description: Host name of the reader endpoint., type: str}
    port: {description: Port., type: int}
    transit_encryption: {description: Whether TLS is on., type: bool}
    at_rest_encryption: {description: Whether at-rest encryption is on., type: bool}
    auth_token_enabled: {description: Whether an AUTH token is set., type: bool}
    automatic_failover: {description: Whether automatic failover is on., type: bool}
    multi_az: {description: Whether Multi-AZ is on., type: bool}
request:
  description: The create/modify/delete request sent (or that would be sent in check mode), token masked.
  returned: when changed
  type: dict
"""

import contextlib

with contextlib.suppress(ImportError):  # a missing boto3 is reported by AnsibleAWSModule
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.mediamind.platform.plugins.module_utils.common import make_diff, set_resource_tags
from ansible_collections.mediamind.platform.plugins.module_utils.datastore import DataStoreManager
from ansible_collections.mediamind.platform.plugins.module_utils.elasticache import (
    CREATE_ONLY,
    DELETING,
    MODIFIABLE,
    READY_STATUSES,
    SECURITY_CRITICAL,
    changes,
    create_replication_group,
    create_request,
    delete_replication_group,
    describe_member_cluster,
    describe_replication_group,
    list_tags,
    modify_replication_group,
    modify_request,
    redact,
    summary,
    wanted,
)


class ReplicationGroupManager(DataStoreManager):
    kind = "group"
    status_key = "Status"
    ready_statuses = READY_STATUSES
    deleting_status = DELETING
    poll_seconds = 15
    create_only = CREATE_ONLY
    security_critical = SECURITY_CRITICAL
    recreate_hint = "create a new group (and move clients) to change it"

    def __init__(self, module: AnsibleAWSModule):
        self.client = module.client("elasticache")
        super().__init__(module, module.params["replication_group_id"], changes)

    def describe(self) -> dict | None:
        return describe_replication_group(self.client, self.name)

    def _current(self) -> dict:
        """Summary of the group as described once, plus its first member and tags."""
        member = None
        if self.resource.get("MemberClusters"):
            member = describe_member_cluster(self.client, self.resource["MemberClusters"][0])
        current = summary(self.resource, member)
        current["tags"] = list_tags(self.client, self.resource["ARN"])
        return current

    # ------------------------------------------------------------------ present

    def ensure_present(self) -> dict:
        self.settle_deleting()
        if self.resource is None:
            return self._create()
        return self._update()

    def _create(self) -> dict:
        params = self.params
        if not params["cache_node_type"]:
            self.module.fail_json(msg="cache_node_type is required to create a replication group")
        if params["auth_token"] and not params["transit_encryption"]:
            self.module.fail_json(msg="auth_token needs transit_encryption=true")
        if params["automatic_failover"] and params["num_cache_clusters"] < 2:
            self.module.fail_json(msg="automatic_failover needs num_cache_clusters >= 2")
        self.request = create_request(params, params["tags"] or {})
        self.changed = True
        after = {key: value for key, value in wanted(params).items() if value is not None}
        after["tags"] = params["tags"] or {}
        after["auth_token_enabled"] = bool(params["auth_token"])
        if self.module.check_mode:
            return {"before": None, "after": after, "group": {}}
        self.resource = create_replication_group(self.client, self.request)
        if params["wait"]:
            self.wait_available()
        return {"before": None, "after": after, "group": summary(self.resource)}

    def _update(self) -> dict:
        params = self.params
        current = self._current()
        want = wanted(params)
        self.check_create_only(current, want, "replication_group")

        diff = changes(current, want, MODIFIABLE)
        # The token is write-only: it is sent only when the caller asks for an update.
        token = params["auth_token_update"] != "never" and bool(params["auth_token"])  # noqa: S105
        to_set, to_remove, before, after = self.tag_plan(current, diff)
        if token:
            before["auth_token"] = "(current)"  # noqa: S105 - a marker, never the value
            after["auth_token"] = f"({params['auth_token_update']})"

        if diff or token:
            self.request = modify_request(self.name, diff, params["apply_immediately"])
            if token:
                self.request["AuthToken"] = params["auth_token"]
                self.request["AuthTokenUpdateStrategy"] = params["auth_token_update"].upper()
        self.changed = bool(self.request or to_set or to_remove)
        if self.module.check_mode:
            return {"before": before, "after": after, "group": current}
        if self.request:
            self.wait_modifiable()
            self.resource = modify_replication_group(self.client, self.request)
        if to_set or to_remove:
            set_resource_tags(self.client, self.resource["ARN"], to_set, to_remove)
        if params["wait"]:
            self.wait_available()
        return {"before": before, "after": after, "group": summary(self.resource)}

    # ------------------------------------------------------------------ absent

    def ensure_absent(self) -> dict:
        if self.gone_or_going():
            return {"before": {}, "after": {}, "group": {}}
        before = summary(self.resource)
        self.request = {"ReplicationGroupId": self.name}
        if self.params["final_snapshot_identifier"]:
            self.request["FinalSnapshotIdentifier"] = self.params["final_snapshot_identifier"]
        self.changed = True
        if not self.module.check_mode:
            if self.status() not in self.ready_statuses and self.params["wait"]:
                self.wait_available()
            delete_replication_group(self.client, self.request)
            if self.params["wait"]:
                self.wait_gone()
        return {
            "before": {"replication_group_id": self.name, "status": before["status"]},
            "after": {},
            "group": {},
        }


def main() -> None:
    argument_spec = dict(
        replication_group_id=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        description=dict(type="str"),
        engine=dict(type="str", choices=["redis", "valkey"], default="valkey"),
        engine_version=dict(type="str"),
        cache_node_type=dict(type="str"),
        num_cache_clusters=dict(type="int", default=1),
        automatic_failover=dict(type="bool", default=False),
        multi_az=dict(type="bool", default=False),
        cache_subnet_group_name=dict(type="str"),
        security_group_ids=dict(type="list", elements="str"),
        transit_encryption=dict(type="bool", default=True),
        at_rest_encryption=dict(type="bool", default=True),
        kms_key_id=dict(type="str"),
        auth_token=dict(type="str", no_log=True),
        auth_token_update=dict(type="str", choices=["never", "rotate", "set"], default="never"),
        port=dict(type="int", default=6379),
        snapshot_retention_limit=dict(type="int"),
        snapshot_window=dict(type="str"),
        auto_minor_version_upgrade=dict(type="bool", default=True),
        apply_immediately=dict(type="bool", default=True),
        final_snapshot_identifier=dict(type="str"),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=1800),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[
            ("auth_token_update", "rotate", ["auth_token"]),
            ("auth_token_update", "set", ["auth_token"]),
        ],
    )
    if module.params["multi_az"] and not module.params["automatic_failover"]:
        module.fail_json(msg="multi_az needs automatic_failover=true")

    try:
        manager = ReplicationGroupManager(module)
        present = module.params["state"] == "present"
        result = manager.ensure_present() if present else manager.ensure_absent()
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        module.fail_json_aws(exc, msg=f"ElastiCache call failed for {module.params['replication_group_id']}")

    output = {"changed": manager.changed, "replication_group": result["group"]}
    if manager.changed:
        output["request"] = redact(manager.request)
    # Always returned: Ansible shows it only under --diff.
    output["diff"] = make_diff(result["before"], result["after"])
    module.exit_json(**output)


if __name__ == "__main__":
    main()
