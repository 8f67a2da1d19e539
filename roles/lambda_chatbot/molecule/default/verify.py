"""Read the lambda_chatbot scenario's state from the emulator and print it as JSON."""

import json
import sys

import boto3

endpoint, name, bucket, role, queue = sys.argv[1:6]
kw = {
    "endpoint_url": endpoint,
    "region_name": "eu-central-1",
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
}
lam, s3, iam, sqs, ec2, logs = (boto3.client(s, **kw) for s in ("lambda", "s3", "iam", "sqs", "ec2", "logs"))

function = lam.get_function(FunctionName=name)
config = function["Configuration"]
out = {
    "runtime": config["Runtime"],
    "handler": config["Handler"],
    "timeout": config["Timeout"],
    "memory": config["MemorySize"],
    "environment": config.get("Environment", {}).get("Variables", {}),
    "vpc": config.get("VpcConfig", {}),
    "role": config["Role"],
    "code_sha256": config["CodeSha256"],
    "concurrency": function.get("Concurrency", {}).get("ReservedConcurrentExecutions"),
    "invoke_config": {
        k: v
        for k, v in lam.get_function_event_invoke_config(FunctionName=name).items()
        if k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
    },
    "policy": json.loads(lam.get_policy(FunctionName=name)["Policy"]),
}
notif = s3.get_bucket_notification_configuration(Bucket=bucket)
out["notifications"] = {k: v for k, v in notif.items() if k != "ResponseMetadata"}
role_doc = iam.get_role(RoleName=role)["Role"]
out["trust"] = role_doc["AssumeRolePolicyDocument"]
out["inline_policies"] = {
    p: iam.get_role_policy(RoleName=role, PolicyName=p)["PolicyDocument"]
    for p in iam.list_role_policies(RoleName=role)["PolicyNames"]
}
out["attached_policies"] = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
out["queue"] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
sg_ids = out["vpc"].get("SecurityGroupIds", [])
group = ec2.describe_security_groups(GroupIds=sg_ids)["SecurityGroups"][0]
out["sg"] = {"ingress": group["IpPermissions"], "egress": group["IpPermissionsEgress"], "name": group["GroupName"]}
out["log_groups"] = logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")["logGroups"]
print(json.dumps(out, default=str))
