"""The lambda_chatbot scenario's state, read from the emulator (verify.yml asserts on it).

argv: function name, bucket, role name, failure queue name.
"""

from __future__ import annotations

import json

import state


def read(name: str, bucket: str, role: str, queue: str) -> dict:
    lam, s3, iam, sqs = (state.client(s) for s in ("lambda", "s3", "iam", "sqs"))
    function = lam.get_function(FunctionName=name)
    config = function["Configuration"]
    vpc = config.get("VpcConfig", {})
    notifications = s3.get_bucket_notification_configuration(Bucket=bucket)
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    group = state.security_groups(ids=vpc.get("SecurityGroupIds", []))[0]
    return {
        "runtime": config["Runtime"],
        "handler": config["Handler"],
        "timeout": config["Timeout"],
        "memory": config["MemorySize"],
        "environment": config.get("Environment", {}).get("Variables", {}),
        "vpc": vpc,
        "role": config["Role"],
        "code_sha256": config["CodeSha256"],
        "concurrency": function.get("Concurrency", {}).get("ReservedConcurrentExecutions"),
        "invoke_config": {
            k: v
            for k, v in lam.get_function_event_invoke_config(FunctionName=name).items()
            if k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
        },
        "policy": json.loads(lam.get_policy(FunctionName=name)["Policy"]),
        "notifications": {k: v for k, v in notifications.items() if k != "ResponseMetadata"},
        "trust": state.trust_policy(role),
        "inline_policies": state.inline_policies(role),
        "attached_policies": iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"],
        "queue": sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"],
        "sg": {"ingress": group["IpPermissions"], "egress": group["IpPermissionsEgress"], "name": group["GroupName"]},
        "log_groups": state.log_groups(f"/aws/lambda/{name}"),
    }


if __name__ == "__main__":
    state.run(read)
