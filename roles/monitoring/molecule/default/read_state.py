"""Prints the scenario's alarms, topic, policy, subscriptions and key as JSON, read from the emulator.

Endpoint and credentials come from the environment, as in the other scenarios.
"""

import json

import boto3

cw, sns, kms = (boto3.client(s) for s in ("cloudwatch", "sns", "kms"))
alarms = {a["AlarmName"]: a for a in cw.describe_alarms(AlarmNamePrefix="molecule-mon-")["MetricAlarms"]}
topic = next(t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":molecule-mon-alarms"))
attrs = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
key_id = next(a["TargetKeyId"] for a in kms.list_aliases()["Aliases"] if a["AliasName"] == "alias/molecule-mon-alarms")
key = kms.describe_key(KeyId=key_id)["KeyMetadata"]
print(
    json.dumps(
        {
            "alarms": alarms,
            "topic_arn": topic,
            "kms_master_key_id": attrs.get("KmsMasterKeyId", ""),
            "policy": json.loads(attrs["Policy"]),
            "subscriptions": [s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]],
            "tags": {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=topic)["Tags"]},
            "key_arn": key["Arn"],
            "key_rotation": kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"],
            "key_policy": json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]),
        },
        default=str,
    )
)
