"""The job endpoints are closed to the internet on the deployed load balancer (issue 12, item 8).

The platform's own rules (group_vars/all/alb.yml, the production/local rule set) are converged on an
emulator of their own by the vpc and alb roles, wired as site.yml wires them (vpc_outputs.nat_public_ips
into the forward exceptions). The test then reads the listener's rules back from moto (describe_rules)
and asks tools/alb_route.py what the load balancer answers: from the internet every job endpoint, on
every host that reaches an API, is the ALB's own 403 (a spelling with a %-escape in the job prefix its
400, from the escape guards); from a NAT gateway's address each scheduler reaches its own API; every
other route, one with a %-escape after the prefix included, is forwarded as before. Every described
path pattern holds only characters AWS accepts (route() refuses any other: moto would store it).

Emulator gap (ARCHITECTURE.md): moto accepts rule Transforms but never returns them, so the front end's
/dev/api rewrite is taken from the create_rule request the rule module sent (its `requests`) and added to
the described rule before evaluating; everything else comes from the emulator's state.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from urllib.parse import unquote

import boto3
import pytest
from alb_route import PATH_PATTERN_CHARACTERS, route
from conftest import private_stack, run_on_localhost, stack_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
API, DEV_API, QDRANT, FRONTEND = (
    "api.mediamind.csee.tech",
    "dev.api.mediamind.csee.tech",
    "qdrant.mediamind.csee.tech",
    "mediamind.csee.tech",
)
JOBS = ["email", "pipeline", "rss", "breaking-news"]
# Documentation ranges (RFC 5737): never a NAT gateway's address on the emulator (checked below).
INTERNET = ["198.51.100.7", "192.0.2.33", "203.0.113.250"]

PLAYBOOK = f"""
- hosts: localhost
  gather_facts: false
  vars_files:
    - {ROOT}/group_vars/all/main.yml
    - {ROOT}/group_vars/all/vpc.yml
    - {ROOT}/group_vars/all/alb.yml
    # qdrant_source_cidrs, which the Qdrant host's rules read.
    - {ROOT}/group_vars/all/qdrant.yml
  vars:
    mediamind_env: local
    vpc_name: mm-jobs-test
    vpc_cidr: 10.88.0.0/16
    # Two NAT gateways: two addresses in each forward exception.
    vpc_nat_mode: per_az
    vpc_flow_logs_enabled: false
  module_defaults:
    group/mediamind.platform.aws: {{region: eu-central-1}}
  tasks:
    - name: Run the vpc role
      ansible.builtin.include_role: {{name: vpc}}
      when: not (alb_only | default(false))
    - name: Run the alb role
      ansible.builtin.include_role: {{name: alb}}
    - name: Keep what the test reads besides the emulator
      ansible.builtin.copy:
        content: "{{{{ {{'vpc_outputs': vpc_outputs, 'requests': __alb_rules.requests}} | to_json }}}}"
        dest: "{{{{ outputs_file }}}}"
        mode: "0600"
      check_mode: false
      when: outputs_file is defined
"""


def _play(stack, tmp_path: Path, extra: dict, check: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**stack_env(stack), "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
    return run_on_localhost(PLAYBOOK, tmp_path, extra=extra, check=check, env=env)


def _changed(result: subprocess.CompletedProcess[str]) -> int:
    found = re.search(r"localhost\s*:\s*ok=\d+\s+changed=(\d+)", result.stdout)
    assert found, result.stdout[-3000:]
    return int(found.group(1))


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """The platform's rules converged (then checked and converged again) on a private emulator."""
    with private_stack("alb-jobs", 5800) as stack:
        env = stack_env(stack)
        session = boto3.Session(
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name="eu-central-1",
        )
        endpoint = env["AWS_ENDPOINT_URL"]
        acm = session.client("acm", endpoint_url=endpoint)
        certificate = acm.request_certificate(DomainName=API, SubjectAlternativeNames=[DEV_API, QDRANT, FRONTEND])
        extra = {"acm_outputs": {"certificates": {"api": certificate["CertificateArn"]}}}
        tmp = tmp_path_factory.mktemp("alb-jobs")
        outputs = tmp / "outputs.json"
        runs = {}
        for name, check in (("converge", False), ("check", True), ("again", False)):
            run_extra = {**extra, "outputs_file": str(outputs)} if name == "converge" else extra
            result = _play(stack, tmp, run_extra, check=check)
            assert result.returncode == 0, f"{name}: {result.stdout[-4000:]}"
            runs[name] = result
        published = json.loads(outputs.read_text())
        elbv2 = session.client("elbv2", endpoint_url=endpoint)
        lb = elbv2.describe_load_balancers(Names=["mediamind"])["LoadBalancers"][0]
        listeners = elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
        https = next(listener for listener in listeners if listener["Port"] == 443)
        rules = elbv2.describe_rules(ListenerArn=https["ListenerArn"])["Rules"]
        names = {g["TargetGroupArn"]: g["TargetGroupName"] for g in elbv2.describe_target_groups()["TargetGroups"]}
        yield {
            "stack": stack,
            "tmp": tmp,
            "extra": extra,
            "runs": runs,
            "rules": rules,
            "names": names,
            "nat_ips": published["vpc_outputs"]["nat_public_ips"],
            "requests": published["requests"],
        }


@pytest.fixture(scope="module")
def rules(deployed) -> list[dict]:
    """The described rules, plus the Transforms the module sent (moto does not return them)."""
    sent = {
        r["params"]["Priority"]: r["params"]["Transforms"]
        for r in deployed["requests"]
        if r["operation"] == "create_rule" and "Transforms" in r["params"]
    }
    assert not any("Transforms" in r for r in deployed["rules"]), "moto returns Transforms now: drop the merge"
    return [
        {**r, "Transforms": sent[int(r["Priority"])]} if r["Priority"].isdigit() and int(r["Priority"]) in sent else r
        for r in deployed["rules"]
    ]


def ask(deployed, rules, host: str, path: str, source_ip: str) -> dict:
    return route(rules, host=host, path=path, source_ip=source_ip, target_group_names=deployed["names"])


def test_second_run_and_check_mode_change_nothing(deployed) -> None:
    assert _changed(deployed["runs"]["check"]) == 0, deployed["runs"]["check"].stdout[-3000:]
    assert _changed(deployed["runs"]["again"]) == 0, deployed["runs"]["again"].stdout[-3000:]


def test_the_exceptions_hold_exactly_the_nat_addresses(deployed) -> None:
    nat = deployed["nat_ips"]
    assert len(nat) == 2
    assert not set(nat) & set(INTERNET)
    sources = {
        int(r["Priority"]): c["SourceIpConfig"]["Values"]
        for r in deployed["rules"]
        for c in r["Conditions"]
        if c["Field"] == "source-ip"
    }
    assert sources == {5: sorted(f"{ip}/32" for ip in nat), 7: sorted(f"{ip}/32" for ip in nat)}


@pytest.mark.parametrize("job", JOBS)
@pytest.mark.parametrize(
    ("host", "path"),
    [
        (API, "/api/v1/jobs/{job}"),
        (DEV_API, "/api/v1/jobs/{job}"),
        (FRONTEND, "/api/v1/jobs/{job}"),
        (FRONTEND, "/dev/api/v1/jobs/{job}"),
        (API.upper(), "/api/v1/jobs/{job}"),
        (API, "/api/v1/jobs/{job}/"),
    ],
)
def test_job_endpoints_are_forbidden_from_the_internet(deployed, rules, host: str, path: str, job: str) -> None:
    for ip in INTERNET:
        answer = ask(deployed, rules, host, path.format(job=job), ip)
        assert (answer["type"], answer.get("status_code")) == ("fixed-response", 403), answer


@pytest.mark.parametrize("host", [API, DEV_API])
def test_the_jobs_collection_itself_is_forbidden(deployed, rules, host: str) -> None:
    assert ask(deployed, rules, host, "/api/v1/jobs", INTERNET[0])["status_code"] == 403


@pytest.mark.parametrize(
    ("host", "path"),
    [
        (API, "/api/v1/%6Aobs/email"),
        (API, "/api%2Fv1/jobs/rss"),
        (API, "/%61pi/v1/jobs/pipeline"),
        (API, "%2Fapi/v1/jobs/email"),
        (API, "/api/v1/job%73/email"),
        (DEV_API, "/api/v1/j%6Fbs/breaking-news"),
        (DEV_API, "/api/v1/%6a%6f%62%73/email"),
        (FRONTEND, "/api/v1/%6Aobs/email"),
        (FRONTEND, "/api/%76%31/jobs/email"),
        (FRONTEND, "/dev/api/v1/%6Aobs/email"),
        (FRONTEND, "/dev/api/v1%2fjobs/email"),
    ],
)
def test_escaped_job_prefixes_are_refused_even_from_a_nat_address(deployed, rules, host: str, path: str) -> None:
    for ip in [*INTERNET, *deployed["nat_ips"]]:
        answer = ask(deployed, rules, host, path, ip)
        assert (answer["type"], answer.get("status_code")) == ("fixed-response", 400), answer


@pytest.mark.parametrize("host", [API, DEV_API])
@pytest.mark.parametrize("position", range(len("/api/v1/jobs")))
def test_an_escape_at_any_position_of_the_job_prefix_is_refused(deployed, rules, host: str, position: int) -> None:
    prefix = "/api/v1/jobs"
    for escape in (f"%{ord(prefix[position]):02X}", f"%{ord(prefix[position]):02x}"):
        path = prefix[:position] + escape + prefix[position + 1 :] + "/email"
        assert ask(deployed, rules, host, path, INTERNET[0])["status_code"] == 400, path


def test_an_escape_after_the_job_prefix_is_a_job_path_and_treated_as_one(deployed, rules) -> None:
    """/api/v1/jobs%2Femail decodes to a job path but spells the prefix: the deny rule's, the NAT's exception."""
    assert ask(deployed, rules, API, "/api/v1/jobs%2Femail", INTERNET[0])["status_code"] == 403
    answer = ask(deployed, rules, API, "/api/v1/jobs%2Femail", deployed["nat_ips"][0])
    assert (answer["type"], answer["target_group"]) == ("forward", "mediamind-api")


def test_every_deployed_path_pattern_is_one_aws_accepts(deployed) -> None:
    values = [
        v
        for r in deployed["rules"]
        for c in r["Conditions"]
        if c["Field"] == "path-pattern"
        for v in c["PathPatternConfig"]["Values"]
    ]
    assert values
    assert [v for v in values if not set(v) <= PATH_PATTERN_CHARACTERS or len(v) > 128] == []
    assert len(deployed["rules"]) <= 100


@pytest.mark.parametrize("job", JOBS)
def test_each_scheduler_reaches_its_own_api_from_a_nat_address(deployed, rules, job: str) -> None:
    for ip in deployed["nat_ips"]:
        prod = ask(deployed, rules, API, f"/api/v1/jobs/{job}", ip)
        dev = ask(deployed, rules, DEV_API, f"/api/v1/jobs/{job}", ip)
        assert (prod["type"], prod["target_group"], prod["path"]) == ("forward", "mediamind-api", f"/api/v1/jobs/{job}")
        assert (dev["type"], dev["target_group"], dev["path"]) == (
            "forward",
            "mediamind-api-dev",
            f"/api/v1/jobs/{job}",
        )
        # The front end is no way in for a scheduler either (nothing calls it there).
        assert ask(deployed, rules, FRONTEND, f"/api/v1/jobs/{job}", ip)["status_code"] == 403


@pytest.mark.parametrize(
    "route_path",
    ["/api/v1/healthcheck", "/api/v1/chatbot", "/api/v1/articles", "/api/v1/users/me", "/api/v1/articles/a%20b"],
)
def test_every_other_route_is_forwarded_as_before(deployed, rules, route_path: str) -> None:
    expected = [
        (API, route_path, "mediamind-api", route_path),
        (DEV_API, route_path, "mediamind-api-dev", route_path),
        (FRONTEND, route_path, "mediamind-api", route_path),
        # The front end's /dev/api/* reaches the dev API as /api/*.
        (FRONTEND, "/dev" + route_path, "mediamind-api-dev", route_path),
    ]
    for ip in [INTERNET[0], *deployed["nat_ips"]]:
        for host, path, group, target_path in expected:
            answer = ask(deployed, rules, host, path, ip)
            assert (answer["type"], answer["target_group"], answer["path"]) == ("forward", group, target_path), (
                host,
                path,
                answer,
            )


def test_qdrant_and_unknown_hosts_are_unchanged(deployed, rules) -> None:
    assert ask(deployed, rules, QDRANT, "/collections", INTERNET[0])["target_group"] == "mediamind-qdrant"
    assert (
        ask(deployed, rules, "mediamind-1.elb.amazonaws.com", "/api/v1/jobs/email", INTERNET[0])["status_code"] == 404
    )


# What reaches the backend: Starlette routes on the percent-decoded path, case-sensitively.
_JOB_PATH = "/api/v1/jobs/email"


@st.composite
def _job_path_variants(draw) -> str:
    """The job path with any characters percent-escaped (either hex case) or upper-cased, maybe a slash."""
    out = []
    for char in _JOB_PATH:
        how = draw(st.sampled_from(["keep", "keep", "keep", "escape", "escape-lower", "upper"]))
        if how == "escape":
            out.append(f"%{ord(char):02X}")
        elif how == "escape-lower":
            out.append(f"%{ord(char):02x}")
        else:
            out.append(char.upper() if how == "upper" else char)
    return "".join(out) + draw(st.sampled_from(["", "/"]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=_job_path_variants(), host=st.sampled_from([API, DEV_API, FRONTEND, "DEV.API.mediamind.csee.tech"]))
def test_no_spelling_of_a_job_path_reaches_a_job_route_from_the_internet(deployed, rules, path: str, host: str) -> None:
    """Whatever the ALB forwards from the internet, its decoded path is never a job route."""
    for candidate in (path, "/dev" + path):
        answer = ask(deployed, rules, host, candidate, INTERNET[0])
        if answer["type"] == "forward":
            assert not unquote(answer["path"]).startswith("/api/v1/jobs"), (host, candidate, answer)


def test_unknown_nat_addresses_plan_the_deny_rules_and_no_exception(deployed, tmp_path: Path) -> None:
    """A dry run that does not know the NAT addresses (vpc not run yet) removes the exceptions, never opens them."""
    live = deployed["nat_ips"]
    outputs = tmp_path / "plan.json"
    extra = {
        **deployed["extra"],
        "alb_only": True,
        "outputs_file": str(outputs),
        "vpc_outputs": {
            **json.loads((deployed["tmp"] / "outputs.json").read_text())["vpc_outputs"],
            "nat_public_ips": [],
        },
    }
    result = _play(deployed["stack"], tmp_path, extra, check=True)
    assert result.returncode == 0, result.stdout[-4000:]
    requests = json.loads(outputs.read_text())["requests"]
    by_arn = {r["RuleArn"]: int(r["Priority"]) for r in deployed["rules"] if r["Priority"].isdigit()}
    assert [r["operation"] for r in requests] == ["delete_rule", "delete_rule"], requests
    assert sorted(by_arn[r["params"]["RuleArn"]] for r in requests) == [5, 7]
    # Without rules 5 and 7 the schedulers' own addresses get the 403 too.
    remaining = [r for r in deployed["rules"] if not (r["Priority"].isdigit() and int(r["Priority"]) in (5, 7))]
    for ip in live:
        assert route(remaining, host=API, path="/api/v1/jobs/email", source_ip=ip)["status_code"] == 403


def _listener_rules(deployed) -> list[dict]:
    env = stack_env(deployed["stack"])
    elbv2 = boto3.client(
        "elbv2",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name="eu-central-1",
    )
    lb = elbv2.describe_load_balancers(Names=["mediamind"])["LoadBalancers"][0]
    listeners = elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    https = next(listener for listener in listeners if listener["Port"] == 443)
    return elbv2.describe_rules(ListenerArn=https["ListenerArn"])["Rules"]


def test_qdrants_host_can_be_narrowed_to_the_inventorys_source_ranges(deployed, tmp_path: Path) -> None:
    """qdrant_source_cidrs puts a source-ip condition on the Qdrant rule; everyone else gets the 403 of rule 310.

    Last in the module: it converges the narrowed edge, then the open one again (the other tests' state).
    """
    team = ["198.51.100.0/24", "192.0.2.33/32"]
    extra = {**deployed["extra"], "alb_only": True, "vpc_outputs": deployed_vpc_outputs(deployed)}
    narrowed = {**extra, "qdrant_source_cidrs": team}
    try:
        result = _play(deployed["stack"], tmp_path, narrowed)
        assert result.returncode == 0, result.stdout[-4000:]
        assert _changed(result) > 0
        again = _play(deployed["stack"], tmp_path, narrowed, check=True)
        assert _changed(again) == 0, again.stdout[-3000:]
        rules = _listener_rules(deployed)
        by_priority = {int(r["Priority"]): r for r in rules if r["Priority"].isdigit()}
        conditions = {c["Field"]: c for c in by_priority[300]["Conditions"]}
        assert conditions["source-ip"]["SourceIpConfig"]["Values"] == sorted(team)
        assert conditions["host-header"]["HostHeaderConfig"]["Values"] == [QDRANT]
        names = deployed["names"]
        # 198.51.100.7 is inside the first range, 192.0.2.33 is the second; 203.0.113.250 is neither.
        for ip in ("198.51.100.7", "192.0.2.33"):
            answer = route(rules, host=QDRANT, path="/collections", source_ip=ip, target_group_names=names)
            assert (answer["type"], answer["target_group"]) == ("forward", "mediamind-qdrant"), answer
        for ip in ("203.0.113.250", "192.0.2.34", *deployed["nat_ips"]):
            answer = route(rules, host=QDRANT, path="/collections", source_ip=ip, target_group_names=names)
            assert (answer["type"], answer.get("status_code")) == ("fixed-response", 403), (ip, answer)
        # The APIs are not narrowed by it.
        assert route(rules, host=API, path="/api/v1/healthcheck", source_ip="203.0.113.250")["type"] == "forward"
    finally:
        restored = _play(deployed["stack"], tmp_path, extra)
        assert restored.returncode == 0, restored.stdout[-4000:]
    rules = _listener_rules(deployed)
    (qdrant_rule,) = [r for r in rules if r["Priority"] == "300"]
    assert [c["Field"] for c in qdrant_rule["Conditions"]] == ["host-header"]
    assert ask(deployed, rules, QDRANT, "/collections", "203.0.113.250")["target_group"] == "mediamind-qdrant"


def deployed_vpc_outputs(deployed) -> dict:
    return json.loads((deployed["tmp"] / "outputs.json").read_text())["vpc_outputs"]
