"""The application's contract, checked on a converged local stack (issue 12, item 9).

Each app container's environment is computed as ECS would compute it at task start: the task
definition's plain `environment`, then every `secrets` entry resolved from the emulator's Secrets
Manager (`<arn>:<json key>::`), then the image's entrypoint rule (the keys of APP_CONFIG_JSON
override). That environment must satisfy group_vars/all/app_contract.yml, and its values must be
the ones the deploy created: the RDS endpoint and a credential it holds, the Redis URL of the
environment's own database, Qdrant's key, the bucket, the chatbot's key.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
import pytest
import redis
import yaml
from ansible_collections.mediamind.platform.plugins.filter.app_contract import contract_problems

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

from alb_route import route  # noqa: E402

CONTRACT = yaml.safe_load((ROOT / "group_vars" / "all" / "app_contract.yml").read_text())["mediamind_app_contract"]
SERVICES = {
    "mediamind-service": ("production", "backend"),
    "mediamind-service-dev": ("dev", "backend"),
    "mediamind-scheduler": ("production", "scheduler"),
    "mediamind-scheduler-dev": ("dev", "scheduler"),
}
API_HOSTS = {"production": "api.mediamind.csee.tech", "dev": "dev.api.mediamind.csee.tech"}
INTERNET_IP = "198.51.100.23"


def client(service: str):
    return boto3.client(service, region_name="eu-central-1")


def resolve(value_from: str) -> str:
    """What ECS puts in the variable for `<secret ARN>:<json key>:<stage>:<version>`."""
    parts = value_from.split(":")
    arn, key = ":".join(parts[:7]), parts[7]
    document = json.loads(client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])
    return str(document[key])


def container_of(service: str) -> dict[str, Any]:
    ecs = client("ecs")
    described = ecs.describe_services(cluster="mediamind", services=[service])["services"][0]
    taskdef = ecs.describe_task_definition(taskDefinition=described["taskDefinition"])["taskDefinition"]
    (container,) = [c for c in taskdef["containerDefinitions"] if c["name"] == service]
    return {"service": described, "taskdef": taskdef, "container": container}


def ecs_environment(container: dict[str, Any]) -> dict[str, str]:
    env = {item["name"]: item["value"] for item in container.get("environment", [])}
    env.update({item["name"]: resolve(item["valueFrom"]) for item in container.get("secrets", [])})
    # The backend's entrypoint: APP_CONFIG_JSON's keys are exported over what ECS set.
    if "APP_CONFIG_JSON" in env:
        overrides = json.loads(env.pop("APP_CONFIG_JSON"))
        env.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in overrides.items()})
    return env


@pytest.fixture(scope="module")
def stack(deployed_local: dict) -> dict[str, Any]:
    found = {name: container_of(name) for name in SERVICES}
    for parts in found.values():
        parts["env"] = ecs_environment(parts["container"])
    found["outputs"] = deployed_local["components"]["mediamind-platform"]
    return found


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_each_container_satisfies_the_contract(stack, service: str) -> None:
    component = SERVICES[service][1]
    parts = stack[service]
    assert "APP_CONFIG_JSON" not in {e["name"] for e in parts["container"].get("environment", [])}
    assert "APP_CONFIG_JSON" not in {e["name"] for e in parts["container"].get("secrets", [])}
    env = parts["env"]
    # Every required setting is there, valid, and nothing the app does not read.
    assert contract_problems(env, CONTRACT, component, env.get("ENVIRONMENT", "local"), where=service) == []
    names = [e["name"] for e in parts["container"].get("environment", [])] + [
        e["name"] for e in parts["container"].get("secrets", [])
    ]
    assert len(names) == len(set(names)), f"{service}: a setting comes from two places"


@pytest.mark.parametrize("service", ["mediamind-service", "mediamind-service-dev"])
def test_the_database_settings_are_the_instance_and_a_credential_it_holds(stack, service: str) -> None:
    app_env = SERVICES[service][0]
    env = stack[service]["env"]
    instance = client("rds").describe_db_instances(DBInstanceIdentifier="mediamind")["DBInstances"][0]
    assert env["POSTGRES_SERVER"] == instance["Endpoint"]["Address"]
    assert int(env["POSTGRES_PORT"]) == instance["Endpoint"]["Port"]
    secrets = {e["name"]: e["valueFrom"] for e in stack[service]["container"]["secrets"]}
    credential_arn = ":".join(secrets["POSTGRES_PASSWORD"].split(":")[:7])
    assert credential_arn == ":".join(secrets["POSTGRES_USER"].split(":")[:7])
    credential = json.loads(client("secretsmanager").get_secret_value(SecretId=credential_arn)["SecretString"])
    # The standard RDS secret form, pointing at this instance and this environment's database.
    assert set(credential) == {"engine", "host", "port", "dbname", "username", "password"}
    assert (credential["host"], credential["port"]) == (instance["Endpoint"]["Address"], instance["Endpoint"]["Port"])
    assert (credential["username"], credential["password"]) == (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"])
    assert credential["dbname"] == env["POSTGRES_DB"]
    assert stack["outputs"]["rds"]["app_credentials"][app_env]["secret_arn"] == credential_arn
    # Never the master user, whose secret RDS rotates under running tasks.
    assert credential_arn != instance["MasterUserSecret"]["SecretArn"]
    assert env["POSTGRES_USER"] != instance["MasterUsername"]
    assert len(env["POSTGRES_PASSWORD"]) >= 32


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_redis_is_the_replication_groups_url_on_the_environments_own_database(stack, service: str, local_stack) -> None:
    app_env = SERVICES[service][0]
    url = stack[service]["env"]["REDIS_URL"]
    parsed = urlparse(url)
    assert parsed.scheme == "rediss"
    assert parsed.path == ("/0" if app_env == "production" else "/1")
    secrets = {e["name"]: e["valueFrom"] for e in stack[service]["container"]["secrets"]}
    assert secrets["REDIS_URL"].startswith(stack["outputs"]["elasticache"]["redis_url_secret_arn"] + ":")
    # The URL works: the real TLS Redis answers with the AUTH token it holds.
    conn = redis.Redis.from_url(url, ssl_ca_certs=str(local_stack.ca_file), socket_timeout=5)
    try:
        assert conn.ping()
        assert conn.connection_pool.connection_kwargs["db"] == (0 if app_env == "production" else 1)
    finally:
        conn.close()


def test_qdrant_bucket_region_and_chat_key_are_what_was_deployed(stack) -> None:
    qdrant = container_of("mediamind-qdrant")
    qdrant_key = ecs_environment(qdrant["container"])["QDRANT__SERVICE__API_KEY"]
    lambda_env = client("lambda").get_function_configuration(FunctionName="mediamind_chatbot")["Environment"][
        "Variables"
    ]
    lambda_key_arn = next(v for k, v in lambda_env.items() if k.endswith("SECRET_ARN") and "API_KEY" in k)
    lambda_key = json.loads(client("secretsmanager").get_secret_value(SecretId=lambda_key_arn)["SecretString"])
    for service in ("mediamind-service", "mediamind-service-dev"):
        env = stack[service]["env"]
        assert env["QDRANT_API_KEY"] == qdrant_key
        client("s3").head_bucket(Bucket=env["AWS_S3_BUCKET_NAME"])
        assert env["AWS_REGION"] == "eu-central-1"
    # The key the chatbot Lambda sends is the one the production API checks.
    assert stack["mediamind-service"]["env"]["CHAT_API_KEY"] == lambda_key["CHAT_API_KEY"]


def test_the_environments_are_isolated(stack) -> None:
    prod, dev = stack["mediamind-service"], stack["mediamind-service-dev"]
    for key in ("POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD", "REDIS_URL", "CHAT_API_KEY", "SECRET_KEY"):
        assert prod["env"][key] != dev["env"][key], key
    assert prod["env"]["ARTICLE_VECTORS_COLLECTION"] != dev["env"]["ARTICLE_VECTORS_COLLECTION"]
    # dev's execution role cannot read production's credential or team secret.
    iam = client("iam")
    policy = iam.get_role_policy(
        RoleName="mediamind-service-dev-execution", PolicyName="mediamind-service-dev-execution"
    )
    readable = {
        arn
        for statement in policy["PolicyDocument"]["Statement"]
        if "secretsmanager:GetSecretValue" in statement["Action"]
        for arn in ([statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"])
    }
    prod_secrets = {":".join(e["valueFrom"].split(":")[:7]) for e in prod["container"]["secrets"]}
    dev_secrets = {":".join(e["valueFrom"].split(":")[:7]) for e in dev["container"]["secrets"]}
    assert readable == dev_secrets
    shared = prod_secrets & dev_secrets  # the platform's: Redis URL secret and Qdrant's key
    assert stack["outputs"]["rds"]["app_credentials"]["production"]["secret_arn"] not in readable
    assert len(shared) == 2
    assert stack["mediamind-scheduler"]["env"]["REDIS_URL"] != stack["mediamind-scheduler-dev"]["env"]["REDIS_URL"]


def test_the_schedulers_run_as_today(stack) -> None:
    prod, dev = stack["mediamind-scheduler"]["env"], stack["mediamind-scheduler-dev"]["env"]
    assert prod["QUEUE_NAME"] == dev["QUEUE_NAME"] == CONTRACT["scheduler"]["queue_name"] == "default"
    assert prod["API_BASE_URL"] == "https://api.mediamind.csee.tech/api"
    assert dev["API_BASE_URL"] == "https://dev.api.mediamind.csee.tech/api"
    assert [
        prod[k] for k in ("SCHEDULER_INTERVAL", "EMAIL_JOB_INTERVAL", "RSS_JOB_INTERVAL", "BREAKING_NEWS_JOB_INTERVAL")
    ] == [
        "60",
        "3600",
        "1800",
        "3600",
    ]
    assert [prod[f"PIPELINE_{t}_TIME"] for t in ("MORNING", "AFTERNOON", "EVENING")] == ["5:00", "12:00", "18:00"]
    assert [dev[k] for k in ("EMAIL_JOB_INTERVAL", "RSS_JOB_INTERVAL", "BREAKING_NEWS_JOB_INTERVAL")] == ["-1"] * 3
    # Explicitly empty: unset would mean 10:00 / 16:00 / 21:00.
    assert [dev[f"PIPELINE_{t}_TIME"] for t in ("MORNING", "AFTERNOON", "EVENING")] == ["", "", ""]


def test_data_store_access_follows_client_group_membership(stack) -> None:
    outputs = stack["outputs"]
    rds_clients, cache_clients = (
        outputs["rds"]["client_security_group_id"],
        outputs["elasticache"]["client_security_group_id"],
    )
    for service, (_, component) in SERVICES.items():
        groups = set(stack[service]["service"]["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"])
        assert cache_clients in groups, service
        assert (rds_clients in groups) == (component == "backend"), service
    ec2 = client("ec2")
    for group_id, client_group in (
        (outputs["rds"]["security_group_id"], rds_clients),
        (outputs["elasticache"]["security_group_id"], cache_clients),
    ):
        (group,) = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
        sources = {pair["GroupId"] for perm in group["IpPermissions"] for pair in perm.get("UserIdGroupPairs", [])}
        assert sources == {client_group}
        assert all(not perm.get("IpRanges") for perm in group["IpPermissions"])


def test_the_apis_reach_qdrant_by_its_internal_name(stack) -> None:
    """QDRANT_URL is the name Qdrant's tasks are registered under (Cloud Map), not the public host."""
    qdrant = container_of("mediamind-qdrant")
    (registry,) = qdrant["service"]["serviceRegistries"]
    sd = client("servicediscovery")
    service = sd.get_service(Id=registry["registryArn"].rsplit("/", 1)[1])["Service"]
    namespace = sd.get_namespace(Id=service["NamespaceId"])["Namespace"]
    assert namespace["Type"] == "DNS_PRIVATE"
    assert service["DnsConfig"]["DnsRecords"][0]["Type"] == "A"
    internal = f"{service['Name']}.{namespace['Name']}"
    assert internal == "qdrant.mediamind.internal"
    for api in ("mediamind-service", "mediamind-service-dev"):
        url = urlparse(stack[api]["env"]["QDRANT_URL"])
        # Plain HTTP inside the VPC (docs/ecs.md, "Qdrant's edges"); the API key is still sent.
        assert (url.scheme, url.hostname, url.port) == ("http", internal, 6333), api
        assert stack[api]["env"]["QDRANT_API_KEY"]
    for scheduler in ("mediamind-scheduler", "mediamind-scheduler-dev"):
        assert "QDRANT_URL" not in stack[scheduler]["env"]


def test_only_the_apis_and_the_load_balancer_reach_qdrants_port(stack) -> None:
    ec2 = client("ec2")
    (clients,) = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["mediamind-qdrant-clients"]}])[
        "SecurityGroups"
    ]
    # A membership marker: it opens nothing itself.
    assert clients["IpPermissions"] == []
    assert clients["IpPermissionsEgress"] == []
    for service, (_, component) in SERVICES.items():
        groups = set(stack[service]["service"]["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"])
        assert (clients["GroupId"] in groups) == (component == "backend"), service
    qdrant = container_of("mediamind-qdrant")
    # Qdrant joins its own group only: no client of the database, the cache or itself.
    (own,) = qdrant["service"]["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"]
    (group,) = ec2.describe_security_groups(GroupIds=[own])["SecurityGroups"]
    sources = {pair["GroupId"] for perm in group["IpPermissions"] for pair in perm.get("UserIdGroupPairs", [])}
    assert sources == {clients["GroupId"], stack["outputs"]["alb"]["security_group_id"]}
    assert {(perm["FromPort"], perm["ToPort"]) for perm in group["IpPermissions"]} == {(6333, 6333)}
    assert all(not perm.get("IpRanges") and not perm.get("Ipv6Ranges") for perm in group["IpPermissions"])


def test_the_load_balancer_closes_the_job_endpoints_and_serves_the_rest(stack) -> None:
    elbv2 = client("elbv2")
    alb = elbv2.describe_load_balancers(Names=["mediamind"])["LoadBalancers"][0]
    (https,) = [
        listener
        for listener in elbv2.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]
        if listener["Port"] == 443
    ]
    rules = elbv2.describe_rules(ListenerArn=https["ListenerArn"])["Rules"]
    names = {
        tg["TargetGroupArn"]: tg["TargetGroupName"]
        for tg in elbv2.describe_target_groups(LoadBalancerArn=alb["LoadBalancerArn"])["TargetGroups"]
    }
    nat_ips = stack["outputs"]["vpc"]["nat_public_ips"]
    assert nat_ips
    for app_env, host in API_HOSTS.items():
        target = "mediamind-api" if app_env == "production" else "mediamind-api-dev"
        for job in ("email", "pipeline", "rss", "breaking-news"):
            path = f"/api/v1/jobs/{job}"
            answer = route(rules, host=host, path=path, source_ip=INTERNET_IP, method="POST", target_group_names=names)
            assert answer["type"] == "fixed-response", (host, path)
            assert answer["status_code"] in (403, 404), (host, path)
            ours = route(rules, host=host, path=path, source_ip=nat_ips[0], method="POST", target_group_names=names)
            assert ours["type"] == "forward", (host, path)
            assert ours["target_group"] == target, (host, path)
        for path in ("/api/v1/healthcheck", "/api/v1/chatbot", "/api/v1/articles"):
            answer = route(rules, host=host, path=path, source_ip=INTERNET_IP, target_group_names=names)
            assert answer["type"] == "forward", (host, path)
            assert answer["target_group"] == target, (host, path)
    # As the front end's rewrite would deliver them, were its DNS ever moved to the load balancer.
    for path in ("/api/v1/jobs/email", "/dev/api/v1/jobs/pipeline"):
        answer = route(rules, host="mediamind.csee.tech", path=path, source_ip=INTERNET_IP, method="POST")
        assert answer["type"] == "fixed-response", path
        assert answer["status_code"] == 403, path
