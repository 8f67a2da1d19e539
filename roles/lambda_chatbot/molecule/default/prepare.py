"""Prerequisites of the lambda_chatbot scenario, made once before converge.

What other roles (vpc, s3, secrets, elasticache) publish in a real deployment:
a VPC with two private subnets, the mail bucket (with a foreign notification
to an SQS queue that the role must keep), the two secrets, and a fixture zip
for when tools/package_lambda.py is not there. Writes their ids to
<ephemeral dir>/prerequisites.json for converge/verify/destroy. Idempotent.
"""

import contextlib
import io
import json
import sys
import zipfile
from pathlib import Path

import boto3

endpoint, out_dir = sys.argv[1], Path(sys.argv[2])
DESTROY = sys.argv[3:] == ["--destroy"]
kw = {
    "endpoint_url": endpoint,
    "region_name": "eu-central-1",
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
}
ec2, s3, sqs, sm = (boto3.client(s, **kw) for s in ("ec2", "s3", "sqs", "secretsmanager"))
NAME = "molecule-lambda-chatbot"
BUCKET = "molecule-chatbot-mail"


def destroy() -> None:
    """Remove what this script made (a no-op on a clean emulator)."""
    for key in ("api_key", "redis_url"):
        with contextlib.suppress(sm.exceptions.ResourceNotFoundException):
            sm.delete_secret(SecretId=f"molecule/chatbot/{key}", ForceDeleteWithoutRecovery=True)
    if BUCKET in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        for obj in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
            s3.delete_object(Bucket=BUCKET, Key=obj["Key"])
        s3.delete_bucket(Bucket=BUCKET)
    with contextlib.suppress(sqs.exceptions.QueueDoesNotExist):
        sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName="molecule-foreign-queue")["QueueUrl"])
    for vpc in ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [NAME]}])["Vpcs"]:
        for subnet in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]:
            ec2.delete_subnet(SubnetId=subnet["SubnetId"])
        ec2.delete_vpc(VpcId=vpc["VpcId"])
    (out_dir / "prerequisites.json").unlink(missing_ok=True)


if DESTROY:
    destroy()
    sys.exit(0)

vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [NAME]}])["Vpcs"]
vpc_id = vpcs[0]["VpcId"] if vpcs else ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "Name", "Value": NAME}])
subnets = []
for i, az in enumerate(("eu-central-1a", "eu-central-1b")):
    cidr = f"10.77.{128 + i}.0/24"
    found = ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "cidr-block", "Values": [cidr]}]
    )["Subnets"]
    subnets.append(
        found[0]["SubnetId"]
        if found
        else ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=az)["Subnet"]["SubnetId"]
    )

if BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
queue_url = sqs.create_queue(QueueName="molecule-foreign-queue")["QueueUrl"]
queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
# Someone else's notification on the same bucket: converge must not delete it.
s3.put_bucket_notification_configuration(
    Bucket=BUCKET,
    NotificationConfiguration={
        "QueueConfigurations": [
            {
                "Id": "foreign-archive",
                "QueueArn": queue_arn,
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "archive/"}]}},
            }
        ]
    },
)

secrets = {}
for key, value in (
    ("api_key", "molecule-api-key"),
    ("redis_url", json.dumps({"REDIS_URL": "rediss://:pw@127.0.0.1:6379/0"})),
):
    name = f"molecule/chatbot/{key}"
    try:
        secrets[key] = sm.describe_secret(SecretId=name)["ARN"]
    except sm.exceptions.ResourceNotFoundException:
        secrets[key] = sm.create_secret(Name=name, SecretString=value)["ARN"]

# A stand-in package (fixed timestamp: the same bytes every time).
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
    info = zipfile.ZipInfo("mediamind_chatbot/handler.py", date_time=(1980, 1, 1, 0, 0, 0))
    zf.writestr(info, "def lambda_handler(event, context):\n    return []\n")
(out_dir / "fixture.zip").write_bytes(buf.getvalue())

(out_dir / "prerequisites.json").write_text(
    json.dumps(
        {
            "vpc_id": vpc_id,
            "vpc_cidr": "10.77.0.0/16",
            "subnet_ids": subnets,
            "bucket": BUCKET,
            "foreign_queue_arn": queue_arn,
            "api_key_secret_arn": secrets["api_key"],
            "redis_url_secret_arn": secrets["redis_url"],
            "fixture_zip": str(out_dir / "fixture.zip"),
        }
    )
)
print(json.dumps({"vpc_id": vpc_id, "subnets": subnets}))
