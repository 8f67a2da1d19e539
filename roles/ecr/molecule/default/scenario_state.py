"""The repositories, their scan settings, lifecycle policies and tags, read from the emulator.

argv: repository names.
"""

from __future__ import annotations

import json

import state


def read(*names: str) -> dict:
    ecr = state.client("ecr")
    out = {}
    for repo in ecr.describe_repositories(repositoryNames=list(names))["repositories"]:
        policy = ecr.get_lifecycle_policy(repositoryName=repo["repositoryName"])
        out[repo["repositoryName"]] = {
            "uri": repo["repositoryUri"],
            "mutability": repo["imageTagMutability"],
            "scan_on_push": repo["imageScanningConfiguration"]["scanOnPush"],
            "encryption": repo["encryptionConfiguration"]["encryptionType"],
            "lifecycle": json.loads(policy["lifecyclePolicyText"]),
            "tags": state.tags(ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"]),
        }
    return out


if __name__ == "__main__":
    state.run(read)
