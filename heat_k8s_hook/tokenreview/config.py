"""The webhook's configuration file (YAML), validated into a frozen dataclass.

Errors name the field, never its value (the file holds the service credential's password).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import yaml

DEFAULT_CACHE_TTL = 30.0
DEFAULT_CACHE_SIZE = 10000


class ConfigError(ValueError):
    """A bad configuration file: exit code 2, one line naming the field."""


@dataclass(frozen=True)
class Config:
    host: str
    port: int
    tls_cert_file: str
    tls_key_file: str
    tls_client_ca_file: str | None
    keystone: dict = field(repr=False)  # keystoneauth1 plugin options, the password among them
    keystone_cafile: str | None
    keystone_interface: str
    keystone_timeout: float
    stack_user_domain_id: str | None
    stack_user_domain_name: str | None
    cache_ttl: float
    cache_size: int
    user_agent: str


def _str(doc: dict, key: str, required: bool = False) -> str | None:
    value = doc.get(key)
    if value is None:
        if required:
            raise ConfigError(f"{key}: required")
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{key}: must be a non-empty string")
    return value


def _number(doc: dict, key: str, default: float, minimum: float) -> float:
    value = doc.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise ConfigError(f"{key}: must be a number >= {minimum:g}")
    return float(value)


def _file(doc: dict, key: str, required: bool = False) -> str | None:
    path = _str(doc, key, required)
    if path is not None and not os.path.isfile(path):
        raise ConfigError(f"{key}: no such file")
    return path


def _listen(doc: dict) -> tuple:
    text = _str(doc, "listen") or "127.0.0.1:8443"
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError("listen: must be HOST:PORT")
    return host.strip("[]"), int(port)


def _keystone(doc: dict) -> dict:
    ks = doc.get("keystone")
    if not isinstance(ks, dict):
        raise ConfigError("keystone: required, a mapping of keystoneauth1 options")
    auth = {k: v for k, v in ks.items() if k not in ("cafile", "interface", "timeout")}
    auth.setdefault("auth_type", "password")
    for key, value in auth.items():
        if not isinstance(value, str):
            raise ConfigError(f"keystone.{key}: must be a string")
    if not auth.get("auth_url"):
        raise ConfigError("keystone.auth_url: required")
    return auth


def parse_config(doc) -> Config:
    """A Config from the parsed YAML document."""
    if not isinstance(doc, dict):
        raise ConfigError("the configuration must be a YAML mapping")
    host, port = _listen(doc)
    ks = doc.get("keystone") if isinstance(doc.get("keystone"), dict) else {}
    interface = ks.get("interface", "public")
    if interface not in ("public", "internal", "admin"):
        raise ConfigError("keystone.interface: must be public, internal or admin")
    return Config(
        host=host, port=port,
        tls_cert_file=_file(doc, "tls_cert_file", required=True),
        tls_key_file=_file(doc, "tls_key_file", required=True),
        tls_client_ca_file=_file(doc, "tls_client_ca_file"),
        keystone=_keystone(doc),
        keystone_cafile=_file(ks, "cafile") if ks.get("cafile") is not None else None,
        keystone_interface=interface,
        keystone_timeout=_number(ks, "timeout", 10.0, 1),
        stack_user_domain_id=_str(doc, "stack_user_domain_id"),
        stack_user_domain_name=_str(doc, "stack_user_domain_name"),
        cache_ttl=_number(doc, "cache_ttl", DEFAULT_CACHE_TTL, 0),
        cache_size=int(_number(doc, "cache_size", DEFAULT_CACHE_SIZE, 1)),
        user_agent=_str(doc, "user_agent") or "heat-k8s-hook-tokenreview",
    )


def load_config(path: str) -> Config:
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except OSError as exc:
        raise ConfigError(f"--config: cannot read the file ({exc.strerror})") from None
    except yaml.YAMLError:
        raise ConfigError("--config: not valid YAML") from None
    return parse_config(doc)
