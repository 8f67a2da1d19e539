"""What the emulator holds for the elasticache scenario (verify.yml asserts on it).

argv: group id, security group name, secret name, expected token.  The URL
secret's token is compared here and replaced by a flag, so it never reaches
Ansible's output.
"""

from __future__ import annotations

import json
from urllib.parse import unquote, urlsplit

import state


def read(group_id: str, security_group: str, secret_name: str, token: str) -> dict:
    cache = state.client("elasticache")
    group = cache.describe_replication_groups(ReplicationGroupId=group_id)["ReplicationGroups"][0]
    secret = state.client("secretsmanager").get_secret_value(SecretId=secret_name)
    url = urlsplit(json.loads(secret["SecretString"])["REDIS_URL"])
    return {
        "group": group,
        "tags": state.tags(cache.list_tags_for_resource(ResourceName=group["ARN"])["TagList"]),
        "security_groups": state.security_groups(security_group),
        "secret": {
            "arn": secret["ARN"],
            "scheme": url.scheme,
            "host": url.hostname,
            "port": url.port,
            "path": url.path,
            "username": url.username,
            "token_matches": unquote(url.password or "") == token,
        },
    }


if __name__ == "__main__":
    state.run(read)
