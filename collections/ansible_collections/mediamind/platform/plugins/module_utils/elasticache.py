"""boto3 calls and comparisons behind the elasticache_replication_group modules.

community.aws.elasticache only manages single cache clusters: it cannot create
a replication group with in-transit encryption and an AUTH token, so these
wrap the ElastiCache replication group API, each with the project's retry
policy.  The pure functions (summary, wanted settings, changes) are unit
tested without AWS (tests/data/test_mm_elasticache.py).
"""

from __future__ import annotations

from typing import Any

from ansible_collections.mediamind.platform.plugins.module_utils.common import aws_retry, dict_to_tags, tags_to_dict

# Statuses in which the group accepts a modification.  Anything else
# (creating, modifying, snapshotting, ...) must be waited for first.
READY_STATUSES = ("available",)
# A group in this status is on its way out: absent has nothing left to do,
# present must wait until the name is free again.
DELETING = "deleting"

# Settings compared on every run, in the module's option names, with the
# ElastiCache response field that shows them.  Everything else is create-only
# (see CREATE_ONLY) because ModifyReplicationGroup cannot change it.
MODIFIABLE = (
    "description",
    "engine",
    "cache_node_type",
    "automatic_failover",
    "multi_az",
    "snapshot_retention_limit",
    "snapshot_window",
    "auto_minor_version_upgrade",
    "security_group_ids",
)
CREATE_ONLY = (
    "transit_encryption",
    "at_rest_encryption",
    "port",
    "num_cache_clusters",
    "cache_subnet_group_name",
    "engine_version",
    "kms_key_id",
)
# Create-only settings whose drift is a security problem: the module fails
# instead of warning, because silently keeping a group without TLS or
# without encryption at rest is worse than stopping the run.
SECURITY_CRITICAL = ("transit_encryption", "at_rest_encryption")


def is_not_found(exc: Exception, code: str) -> bool:
    return getattr(exc, "response", {}).get("Error", {}).get("Code") in (code, code.replace("Fault", ""))


@aws_retry
def describe_replication_group(client, group_id: str) -> dict[str, Any] | None:
    try:
        groups = client.describe_replication_groups(ReplicationGroupId=group_id)["ReplicationGroups"]
    except client.exceptions.ReplicationGroupNotFoundFault:
        return None
    return groups[0] if groups else None


@aws_retry
def describe_member_cluster(client, cluster_id: str) -> dict[str, Any] | None:
    """The first member cluster: where AWS reports security groups and engine version.

    moto 5.2 creates no member cache clusters for a replication group
    (DescribeCacheClusters answers CacheClusterNotFound): None then, and the
    settings only visible here are not compared.
    """
    try:
        clusters = client.describe_cache_clusters(CacheClusterId=cluster_id)["CacheClusters"]
    except client.exceptions.CacheClusterNotFoundFault:
        return None
    return clusters[0] if clusters else None


@aws_retry
def list_tags(client, arn: str) -> dict[str, str]:
    return tags_to_dict(client.list_tags_for_resource(ResourceName=arn).get("TagList"))


@aws_retry
def create_replication_group(client, request: dict[str, Any]) -> dict[str, Any]:
    return client.create_replication_group(**request)["ReplicationGroup"]


@aws_retry
def modify_replication_group(client, request: dict[str, Any]) -> dict[str, Any]:
    return client.modify_replication_group(**request)["ReplicationGroup"]


@aws_retry
def delete_replication_group(client, request: dict[str, Any]) -> None:
    client.delete_replication_group(**request)


def _enabled(value: str | None) -> bool | None:
    """AutomaticFailover/MultiAZ come back as enabled|enabling|disabled|disabling."""
    if value is None:
        return None
    return value in ("enabled", "enabling")


def summary(group: dict[str, Any], member: dict[str, Any] | None = None) -> dict[str, Any]:
    """The group's settings in the module's option names (never a token)."""
    node_groups = group.get("NodeGroups") or [{}]
    primary = node_groups[0].get("PrimaryEndpoint") or {}
    reader = node_groups[0].get("ReaderEndpoint") or {}
    result: dict[str, Any] = {
        "replication_group_id": group.get("ReplicationGroupId"),
        "arn": group.get("ARN"),
        "status": group.get("Status"),
        "description": group.get("Description"),
        "engine": group.get("Engine"),
        "cache_node_type": group.get("CacheNodeType"),
        "num_cache_clusters": len(group.get("MemberClusters") or []),
        "member_clusters": group.get("MemberClusters") or [],
        "automatic_failover": _enabled(group.get("AutomaticFailover")),
        "multi_az": _enabled(group.get("MultiAZ")),
        "snapshot_retention_limit": group.get("SnapshotRetentionLimit"),
        "snapshot_window": group.get("SnapshotWindow"),
        "auto_minor_version_upgrade": group.get("AutoMinorVersionUpgrade"),
        "transit_encryption": group.get("TransitEncryptionEnabled"),
        "at_rest_encryption": group.get("AtRestEncryptionEnabled"),
        "kms_key_id": group.get("KmsKeyId"),
        "auth_token_enabled": group.get("AuthTokenEnabled"),
        "auth_token_last_modified": str(group["AuthTokenLastModifiedDate"])
        if group.get("AuthTokenLastModifiedDate")
        else None,
        "port": primary.get("Port"),
        "primary_endpoint": primary.get("Address"),
        "reader_endpoint": reader.get("Address"),
        "pending_modified_values": group.get("PendingModifiedValues") or {},
    }
    if member is not None:
        result["security_group_ids"] = sorted(
            sg["SecurityGroupId"] for sg in member.get("SecurityGroups") or [] if sg.get("Status") != "removing"
        )
        result["engine_version"] = member.get("EngineVersion")
        result["cache_subnet_group_name"] = member.get("CacheSubnetGroupName")
    return result


def wanted(params: dict[str, Any]) -> dict[str, Any]:
    """The requested settings in the summary's shape (None = not managed)."""
    result = {key: params.get(key) for key in MODIFIABLE + CREATE_ONLY}
    if result["security_group_ids"] is not None:
        result["security_group_ids"] = sorted(result["security_group_ids"])
    return result


def changes(current: dict[str, Any], want: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """{option: wanted value} for every managed option whose current value differs.

    An option the API did not return (absent from `current`) is not compared:
    see describe_member_cluster for the emulator's gap.
    """
    out = {}
    for key in keys:
        value = want.get(key)
        if value is None or key not in current:
            continue
        have = current[key]
        if key == "engine_version":
            # "7.1" asks for the newest 7.1.x; AWS reports the exact patch.
            if have is not None and (have == value or str(have).startswith(f"{value}.")):
                continue
        elif key == "kms_key_id" and have and value and (have.endswith(value) or value.endswith(have)):
            # Key id vs. key ARN of the same key.
            continue
        if have != value:
            out[key] = value
    return out


def create_request(params: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    """CreateReplicationGroup parameters (cluster mode disabled: one shard)."""
    request: dict[str, Any] = {
        "ReplicationGroupId": params["replication_group_id"],
        "ReplicationGroupDescription": params["description"] or params["replication_group_id"],
        "Engine": params["engine"],
        "CacheNodeType": params["cache_node_type"],
        "NumCacheClusters": params["num_cache_clusters"],
        "AutomaticFailoverEnabled": bool(params["automatic_failover"]),
        "MultiAZEnabled": bool(params["multi_az"]),
        "TransitEncryptionEnabled": bool(params["transit_encryption"]),
        "AtRestEncryptionEnabled": bool(params["at_rest_encryption"]),
        "Port": params["port"],
        "AutoMinorVersionUpgrade": bool(params["auto_minor_version_upgrade"]),
    }
    optional = {
        "EngineVersion": params.get("engine_version"),
        "CacheSubnetGroupName": params.get("cache_subnet_group_name"),
        "SecurityGroupIds": params.get("security_group_ids"),
        "SnapshotRetentionLimit": params.get("snapshot_retention_limit"),
        "SnapshotWindow": params.get("snapshot_window"),
        "KmsKeyId": params.get("kms_key_id"),
        "AuthToken": params.get("auth_token"),
    }
    request.update({key: value for key, value in optional.items() if value not in (None, [])})
    if tags:
        request["Tags"] = dict_to_tags(tags)
    return request


_MODIFY_FIELDS = {
    "description": "ReplicationGroupDescription",
    "engine": "Engine",
    "cache_node_type": "CacheNodeType",
    "automatic_failover": "AutomaticFailoverEnabled",
    "multi_az": "MultiAZEnabled",
    "snapshot_retention_limit": "SnapshotRetentionLimit",
    "snapshot_window": "SnapshotWindow",
    "auto_minor_version_upgrade": "AutoMinorVersionUpgrade",
    "security_group_ids": "SecurityGroupIds",
}


def modify_request(group_id: str, diff: dict[str, Any], apply_immediately: bool) -> dict[str, Any]:
    request: dict[str, Any] = {"ReplicationGroupId": group_id, "ApplyImmediately": apply_immediately}
    for key, value in diff.items():
        request[_MODIFY_FIELDS[key]] = value
    return request


def redact(request: dict[str, Any]) -> dict[str, Any]:
    """A request as the module returns it: the token replaced by a marker."""
    return {key: ("********" if key == "AuthToken" else value) for key, value in request.items()}
