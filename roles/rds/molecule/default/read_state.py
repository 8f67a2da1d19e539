"""Print what the emulator holds for the rds scenario, as JSON (verify.yml asserts on it).

Reads with boto3 directly, never through the role's own modules, so a bug in
rds_db_instance cannot hide itself.  argv: instance id, parameter group name,
security group name.
"""

from __future__ import annotations

import json
import sys

import boto3


def main(identifier: str, parameter_group: str, security_group: str) -> None:
    rds = boto3.client("rds")
    ec2 = boto3.client("ec2")
    secrets = boto3.client("secretsmanager")
    db = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    params = rds.describe_db_parameters(DBParameterGroupName=parameter_group)["Parameters"]
    group = rds.describe_db_parameter_groups(DBParameterGroupName=parameter_group)["DBParameterGroups"][0]
    sgs = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [security_group]}])
    secret_arn = (db.get("MasterUserSecret") or {}).get("SecretArn")
    secret = secrets.describe_secret(SecretId=secret_arn) if secret_arn else {}
    state = {
        "db": db,
        "parameters": {p["ParameterName"]: p.get("ParameterValue") for p in params},
        "parameter_group_family": group["DBParameterGroupFamily"],
        "security_groups": sgs["SecurityGroups"],
        "secret": {"arn": secret.get("ARN"), "owning_service": secret.get("OwningService")},
    }
    print(json.dumps(state, default=str))


if __name__ == "__main__":
    main(*sys.argv[1:4])
