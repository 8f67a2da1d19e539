"""Lambda entry point: ``mediamind_chatbot.handler.lambda_handler(event, context)``.

Thin by design: it builds the clients once per container (configuration, secrets, one
Redis client, one S3 client, one kept-alive API connection) and hands every event to
:class:`~mediamind_chatbot.pipeline.Pipeline`.  In Lambda (``AWS_LAMBDA_FUNCTION_NAME``
set) this happens at import, so a bad setting fails the init phase with one line naming
the variable instead of failing every invocation later.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import boto3
import redis
from botocore.config import Config as BotoConfig
from redis.backoff import NoBackoff
from redis.retry import Retry

from . import config as config_mod
from .api import ChatbotApi
from .config import Config, ConfigError
from .dedup import Dedup
from .pipeline import Pipeline
from .telemetry import Telemetry

__all__ = ["ConfigError", "build_pipeline", "lambda_handler"]

# Secrets Manager answers in-region in well under 100 ms.  botocore's defaults (60 s connect
# and read, retried) would let the key re-read after a 401/403 outlive the invocation, and a
# stall at init eat Lambda's 10 s init phase.
SECRETS_CONFIG = BotoConfig(connect_timeout=1, read_timeout=2, retries={"total_max_attempts": 2, "mode": "standard"})
# The longest one read can take with it: 2 attempts x (1 + 2) s, plus standard mode's backoff
# (at most 1 s before the second attempt; ``total_max_attempts`` counts the first one,
# ``max_attempts`` would not).  The API client re-reads only when this much is left.
SECRET_READ_MAX_SECONDS = 7.0


def _secret(client: Any, arn: str, variable: str, json_keys: tuple[str, ...]) -> str:
    """The secret's string; a JSON object secret is accepted too (first of `json_keys`)."""
    try:
        value = client.get_secret_value(SecretId=arn)["SecretString"]
    except Exception as exc:
        raise ConfigError(f"{variable}: cannot read secret {arn}: {type(exc).__name__}") from exc
    value = (value or "").strip()
    if value.startswith("{"):
        try:
            obj = json.loads(value)
        except ValueError:
            raise ConfigError(f"{variable}: secret {arn} looks like JSON but does not parse") from None
        found = next((obj[k] for k in json_keys if isinstance(obj.get(k), str) and obj[k].strip()), "")
        if not found:
            raise ConfigError(f"{variable}: JSON secret {arn} has none of the keys {', '.join(json_keys)}")
        value = found.strip()
    if not value:
        raise ConfigError(f"{variable}: secret {arn} is empty")
    return value


def make_redis(url: str, ca_file: str | None, timeout: float) -> Any:
    """One client per container.  Short timeouts and a single reconnect attempt: a stale
    connection after a container thaw is retried once, a dead Redis fails in seconds."""
    kwargs: dict[str, Any] = {
        "socket_connect_timeout": timeout,
        "socket_timeout": timeout,
        "retry": Retry(NoBackoff(), 1),
        "health_check_interval": 0,
    }
    if url.startswith("rediss://"):
        kwargs["ssl_cert_reqs"] = "required"
        if ca_file:
            kwargs["ssl_ca_certs"] = ca_file
    return redis.Redis.from_url(url, **kwargs)


def build_pipeline(env: Mapping[str, str] | None = None) -> Pipeline:
    env = os.environ if env is None else env
    cfg: Config = config_mod.load(env)
    # Region from the mapping too (the local dispatcher and invoke pass the function's env).
    session = boto3.session.Session(region_name=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None)
    # Passed explicitly so that an env mapping (tests, invoke) is honoured like os.environ.
    endpoint = env.get("AWS_ENDPOINT_URL") or None
    # One client for the reads at init and the re-reads after a 401/403 (no client build per re-read).
    secrets = session.client("secretsmanager", endpoint_url=endpoint, config=SECRETS_CONFIG)

    def read_api_key() -> str:
        return _secret(secrets, cfg.api_key_secret_arn or "", "CHAT_API_KEY_SECRET_ARN", ("CHAT_API_KEY", "api_key"))

    api_key = cfg.api_key or read_api_key()
    # After a 401/403 the key is read again: a rotation reaches a warm container at once.
    key_source = read_api_key if cfg.api_key_secret_arn and not cfg.api_key else None
    redis_url = cfg.redis_url
    if redis_url is None:
        redis_url = _secret(secrets, cfg.redis_url_secret_arn or "", "REDIS_URL_SECRET_ARN", ("REDIS_URL", "url"))
        config_mod.check_redis_url(redis_url, cfg.allow_insecure_redis, "REDIS_URL_SECRET_ARN")
    if cfg.redis_ssl_ca_certs and not os.path.isfile(cfg.redis_ssl_ca_certs):
        raise ConfigError(f"REDIS_SSL_CA_CERTS={cfg.redis_ssl_ca_certs!r} is not a readable file")
    s3 = session.client(
        "s3",
        endpoint_url=endpoint,
        # At most 2 x (2 + 5) s: well inside the claim (50 s) and the function timeout (30 s);
        # the read timeout is per socket read, so a large mail still downloads.
        config=BotoConfig(
            connect_timeout=2,
            read_timeout=5,
            retries={"total_max_attempts": 2, "mode": "standard"},
            tcp_keepalive=True,
        ),
    )
    client = make_redis(redis_url, cfg.redis_ssl_ca_certs, cfg.redis_timeout_seconds)
    return Pipeline(
        config=cfg,
        s3=s3,
        dedup=Dedup(client, ttl_seconds=cfg.dedup_ttl_seconds),
        api=ChatbotApi(
            cfg.api_url,
            api_key,
            timeout_seconds=cfg.api_timeout_seconds,
            key_source=key_source,
            key_source_seconds=SECRET_READ_MAX_SECONDS,
        ),
        telemetry=Telemetry(cfg.metrics_namespace, env.get("AWS_LAMBDA_FUNCTION_NAME", "mediamind_chatbot")),
    )


_PIPELINE: Pipeline | None = None


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _PIPELINE  # noqa: PLW0603 - the per-container singleton is the point
    if _PIPELINE is None:
        _PIPELINE = build_pipeline()
    return _PIPELINE.handle(event, context)


if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    _PIPELINE = build_pipeline()
