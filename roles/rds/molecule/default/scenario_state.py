"""What the emulator holds for the rds scenario (verify.yml asserts on it).

argv: instance id, parameter group name, security group name.  Read through the
shared reader (.config/molecule/state.py), never the role's own modules, so a bug
in rds_db_instance cannot hide itself.
"""

from __future__ import annotations

import state


def read(identifier: str, parameter_group: str, security_group: str) -> dict:
    rds = state.client("rds")
    db = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    params = rds.describe_db_parameters(DBParameterGroupName=parameter_group)["Parameters"]
    group = rds.describe_db_parameter_groups(DBParameterGroupName=parameter_group)["DBParameterGroups"][0]
    secret_arn = (db.get("MasterUserSecret") or {}).get("SecretArn")
    secret = state.secret(secret_arn) if secret_arn else {}
    return {
        "db": db,
        "parameters": {p["ParameterName"]: p.get("ParameterValue") for p in params},
        "parameter_group_family": group["DBParameterGroupFamily"],
        "security_groups": state.security_groups(security_group),
        "secret": {"arn": secret.get("ARN"), "owning_service": secret.get("OwningService")},
    }


if __name__ == "__main__":
    state.run(read)
