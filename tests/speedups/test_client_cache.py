"""plugins/module_utils/mediamind_botocore_cache.py: one boto3 client per connection setting.

A reused client must be one the module would have built itself: same service, region, endpoint,
credentials, botocore config and AWS_* environment. Runs in a fresh interpreter (the cache patches
amazon.aws's module_utils for the whole process); no AWS call is made.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "plugins" / "module_utils" / "mediamind_botocore_cache.py"

PROBE = textwrap.dedent(
    """
    import importlib.util, json, os, sys
    import botocore.config
    from ansible_collections.amazon.aws.plugins.module_utils import botocore as aws

    spec = importlib.util.spec_from_file_location("mm_cache", sys.argv[1])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module._install_client_cache()  # installing twice keeps one cache

    base = dict(region="eu-central-1", endpoint="http://127.0.0.1:9", aws_access_key_id="a",
                aws_secret_access_key="b")

    def conn(conn_type="client", service="ec2", **changes):
        return aws.boto3_conn(None, conn_type=conn_type, resource=service, **{**base, **changes})

    first = conn()
    same = {
        "again": conn() is first,
        "same_config_object_content": conn(config=botocore.config.Config(retries={"max_attempts": 3}))
        is conn(config=botocore.config.Config(retries={"max_attempts": 3})),
    }
    differs = {
        "service": conn(service="iam") is not first,
        "region": conn(region="eu-west-1") is not first,
        "endpoint": conn(endpoint="http://127.0.0.1:8") is not first,
        "key": conn(aws_access_key_id="other") is not first,
        "token": conn(aws_session_token="t") is not first,
        "config": conn(config=botocore.config.Config(retries={"max_attempts": 9})) is not first,
    }
    os.environ["AWS_MAX_ATTEMPTS"] = "1"
    differs["environment"] = conn() is not first
    del os.environ["AWS_MAX_ATTEMPTS"]
    same["environment_back"] = conn() is first
    differs["resource"] = conn(conn_type="resource", service="s3") is not conn(conn_type="resource", service="s3")
    aws.enable_placebo = lambda session: None  # the recorder itself is not installed here
    os.environ["_ANSIBLE_PLACEBO_REPLAY"] = "/nonexistent"
    differs["placebo"] = conn() is not first
    print(json.dumps({"same": same, "differs": differs, "region": first.meta.region_name,
                      "endpoint": first.meta.endpoint_url}))
    """
)


def test_a_client_is_reused_only_for_identical_settings() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(CACHE)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        # No AWS_* variables and a HOME without ~/.aws: the settings under test are the arguments.
        env={"PATH": "/usr/bin:/bin", "HOME": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert all(out["same"].values()), out["same"]
    assert all(out["differs"].values()), out["differs"]
    assert (out["region"], out["endpoint"]) == ("eu-central-1", "http://127.0.0.1:9")
