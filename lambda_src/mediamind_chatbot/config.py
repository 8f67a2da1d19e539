"""Configuration from the environment, validated once per container.

Every problem is a :class:`ConfigError` whose message is one line naming the variable,
so a broken deployment shows the cause in the Lambda init error, not a traceback deep
inside a request.  Secrets (API key, Redis URL) may be given directly or as Secrets
Manager ARNs; resolving ARNs needs boto3, so it happens in the handler, not here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

# SES accepts messages up to 40 MB (incl. headers); anything bigger cannot be a real SES mail.
DEFAULT_MAX_OBJECT_BYTES = 40 * 1024 * 1024
DEFAULT_DEDUP_TTL_SECONDS = 86400
DEFAULT_MAX_BODY_CHARS = 20000
DEFAULT_API_TIMEOUT_SECONDS = 10.0
DEFAULT_REDIS_TIMEOUT_SECONDS = 2.0
# Mails one address may have answered per hour (a fixed window); 0 turns the limit off.
DEFAULT_SENDER_RATE_LIMIT_PER_HOUR = 30
# The authserv-id SES writes in its Authentication-Results header.
DEFAULT_SES_AUTHSERV_ID = "amazonses.com"

_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DOMAIN = re.compile(r"^@[^@\s]+\.[^@\s]+$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


class ConfigError(Exception):
    """A missing or malformed setting; the message names the variable."""


@dataclass(frozen=True)
class Config:
    api_host: str
    chatbot_address: str
    inbound_prefix: str
    api_key: str | None = None
    api_key_secret_arn: str | None = None
    redis_url: str | None = None
    redis_url_secret_arn: str | None = None
    redis_ssl_ca_certs: str | None = None
    allow_insecure_redis: bool = False
    dedup_ttl_seconds: int = DEFAULT_DEDUP_TTL_SECONDS
    max_body_chars: int = DEFAULT_MAX_BODY_CHARS
    max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES
    api_timeout_seconds: float = DEFAULT_API_TIMEOUT_SECONDS
    redis_timeout_seconds: float = DEFAULT_REDIS_TIMEOUT_SECONDS
    allowed_senders: tuple[str, ...] = ()
    sender_rate_limit_per_hour: int = DEFAULT_SENDER_RATE_LIMIT_PER_HOUR
    require_ses_authentication: bool = True
    ses_authserv_id: str = DEFAULT_SES_AUTHSERV_ID
    metrics_namespace: str = "MediaMind/Chatbot"

    @property
    def api_url(self) -> str:
        return self.api_host.rstrip("/") + "/api/v1/chatbot"


def _get(env: Mapping[str, str], name: str) -> str:
    return (env.get(name) or "").strip()


def _required(env: Mapping[str, str], name: str) -> str:
    value = _get(env, name)
    if not value:
        raise ConfigError(f"{name} is required but not set")
    return value


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = _get(env, name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} must be >= {minimum}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = _get(env, name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number of seconds") from None
    if not 0 < value <= 900:
        raise ConfigError(f"{name}={raw!r} must be between 0 and 900 seconds")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    raw = _get(env, name).lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} must be true or false")


def _arn(env: Mapping[str, str], name: str) -> str | None:
    raw = _get(env, name)
    if raw and (not raw.startswith("arn:") or ":secretsmanager:" not in raw):
        raise ConfigError(f"{name}={raw!r} is not a Secrets Manager ARN")
    return raw or None


def check_redis_url(url: str, allow_insecure: bool, name: str = "REDIS_URL") -> str:
    """rediss:// only (ElastiCache in-transit encryption); redis:// only when explicitly allowed."""
    parts = urlsplit(url)
    if parts.scheme == "redis" and not allow_insecure:
        raise ConfigError(
            f"{name} uses plaintext redis://: use rediss:// (TLS), or set ALLOW_INSECURE_REDIS=true for local tests"
        )
    if parts.scheme not in ("rediss", "redis") or not parts.hostname:
        raise ConfigError(f"{name} must look like rediss://[:password@]host:port[/db]")
    return url


def load(env: Mapping[str, str]) -> Config:
    """Validate the environment; raise ConfigError naming the first bad variable."""
    api_host = _required(env, "API_HOST")
    parts = urlsplit(api_host)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"API_HOST={api_host!r} must be an http(s):// base URL")

    api_key = _get(env, "CHAT_API_KEY") or None
    api_key_arn = _arn(env, "CHAT_API_KEY_SECRET_ARN")
    if not api_key and not api_key_arn:
        raise ConfigError("CHAT_API_KEY or CHAT_API_KEY_SECRET_ARN is required but neither is set")

    allow_insecure = _bool(env, "ALLOW_INSECURE_REDIS")
    redis_url = _get(env, "REDIS_URL") or None
    redis_arn = _arn(env, "REDIS_URL_SECRET_ARN")
    if redis_url:
        check_redis_url(redis_url, allow_insecure)
    elif not redis_arn:
        raise ConfigError("REDIS_URL or REDIS_URL_SECRET_ARN is required but neither is set")

    ca = _get(env, "REDIS_SSL_CA_CERTS") or None

    address = _required(env, "CHATBOT_ADDRESS").lower()
    if not _ADDRESS.match(address):
        raise ConfigError(f"CHATBOT_ADDRESS={address!r} is not an email address")

    prefix = _get(env, "INBOUND_PREFIX")
    if prefix.startswith("/"):
        raise ConfigError(f"INBOUND_PREFIX={prefix!r} must not start with '/' (S3 keys have none)")

    allowed: list[str] = []
    for entry in re.split(r"[,\s]+", _get(env, "ALLOWED_SENDERS")):
        if not entry:
            continue
        item = entry.lower()
        if not (_ADDRESS.match(item) or _DOMAIN.match(item)):
            raise ConfigError(f"ALLOWED_SENDERS entry {item!r} is neither an address nor an @domain")
        allowed.append(item)

    authserv = (_get(env, "SES_AUTHSERV_ID") or DEFAULT_SES_AUTHSERV_ID).lower()
    if not re.match(r"^[a-z0-9.-]+$", authserv):
        raise ConfigError(f"SES_AUTHSERV_ID={authserv!r} is not a host name")

    return Config(
        api_host=api_host,
        chatbot_address=address,
        inbound_prefix=prefix,
        api_key=api_key,
        api_key_secret_arn=api_key_arn,
        redis_url=redis_url,
        redis_url_secret_arn=redis_arn,
        redis_ssl_ca_certs=ca,
        allow_insecure_redis=allow_insecure,
        dedup_ttl_seconds=_int(env, "DEDUP_TTL_SECONDS", DEFAULT_DEDUP_TTL_SECONDS, minimum=60),
        max_body_chars=_int(env, "MAX_BODY_CHARS", DEFAULT_MAX_BODY_CHARS, minimum=100),
        max_object_bytes=_int(env, "MAX_OBJECT_BYTES", DEFAULT_MAX_OBJECT_BYTES, minimum=1024),
        api_timeout_seconds=_float(env, "API_TIMEOUT_SECONDS", DEFAULT_API_TIMEOUT_SECONDS),
        redis_timeout_seconds=_float(env, "REDIS_TIMEOUT_SECONDS", DEFAULT_REDIS_TIMEOUT_SECONDS),
        allowed_senders=tuple(allowed),
        sender_rate_limit_per_hour=_int(
            env, "SENDER_RATE_LIMIT_PER_HOUR", DEFAULT_SENDER_RATE_LIMIT_PER_HOUR, minimum=0
        ),
        require_ses_authentication=_bool(env, "REQUIRE_SES_AUTHENTICATION", default=True),
        ses_authserv_id=authserv,
        metrics_namespace=_get(env, "METRICS_NAMESPACE") or "MediaMind/Chatbot",
    )
