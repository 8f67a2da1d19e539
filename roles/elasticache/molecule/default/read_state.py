"""Print what the emulator holds for the elasticache scenario, as JSON (verify.yml asserts on it).

Reads with boto3 directly, never through the role's own modules.  The URL
secret's token is compared here and replaced by a flag, so it never reaches
Ansible's output.  argv: group id, security group name, secret name, expected token.
"""

from __future__ import annotations

import json
import sys
from urllib.parse import unquote, urlsplit

import boto3


def main(group_id: str, security_group: str, secret_name: str, token: str) -> None:
    cache = boto3.client("elasticache")
    ec2 = boto3.client("ec2")
    secrets = boto3.client("secretsmanager")
    group = cache.describe_replication_groups(ReplicationGroupId=group_id)["ReplicationGroups"][0]
    tags = cache.list_tags_for_resource(ResourceName=group["ARN"])["TagList"]
    sgs = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [security_group]}])
    secret = secrets.get_secret_value(SecretId=secret_name)
    url = urlsplit(json.loads(secret["SecretString"])["REDIS_URL"])
    state = {
        "group": group,
        "tags": {t["Key"]: t["Value"] for t in tags},
        "security_groups": sgs["SecurityGroups"],
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
    print(json.dumps(state, default=str))


if __name__ == "__main__":
    main(*sys.argv[1:5])
