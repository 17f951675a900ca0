"""The webhook's configuration file (YAML), validated into a frozen dataclass.

Errors name the field, never its value (the file holds the service credential's password).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import yaml

from heat_k8s_hook.schema import Field, Invalid, Record, Where, check, kind, number, one_of, text

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


def _file(value: Any) -> str:
    if not os.path.isfile(text(value)):
        raise Invalid("no such file")
    return value


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid(f"expected a string, got {kind(value)}")
    return value


def _listen(value: Any) -> tuple:
    host, _, port = text(value).rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise Invalid("expected HOST:PORT")
    return host.strip("[]"), int(port)


# The webhook's file, declared (schema.py). `keystone` is keystoneauth1's plugin options (any
# of them, each a string: `rest`) plus the three the webhook reads itself.
KEYSTONE = Record((
    Field("auth_type", _string, "password"),
    Field("auth_url", text, required=True),
    Field("cafile", _file),
    Field("interface", one_of(("public", "internal", "admin")), "public"),
    Field("timeout", number(1), 10.0),
), what="a mapping of keystoneauth1 options", rest=_string)
CONFIG = Record((
    Field("listen", _listen, ("127.0.0.1", 8443)),
    Field("tls_cert_file", _file, required=True),
    Field("tls_key_file", _file, required=True),
    Field("tls_client_ca_file", _file),
    Field("keystone", KEYSTONE, required=True),
    Field("stack_user_domain_id", text),
    Field("stack_user_domain_name", text),
    Field("cache_ttl", number(0), DEFAULT_CACHE_TTL),
    Field("cache_size", lambda value: int(number(1)(value)), DEFAULT_CACHE_SIZE),
    Field("user_agent", text, "heat-k8s-hook-tokenreview"),
), what="a YAML mapping")
_OWN = ("cafile", "interface", "timeout")   # keystone keys that are not keystoneauth1's


def parse_config(doc: Any) -> Config:
    """A Config from the parsed YAML document."""
    values = check(CONFIG, doc, Where("config", ""), ConfigError)
    ks = values.pop("keystone")
    host, port = values.pop("listen")
    return Config(host=host, port=port, keystone={k: v for k, v in ks.items() if k not in _OWN},
                  keystone_cafile=ks.get("cafile"), keystone_interface=ks["interface"],
                  keystone_timeout=ks["timeout"], **{k: values.get(k) for k in _FIELDS})


_FIELDS = ("tls_cert_file", "tls_key_file", "tls_client_ca_file", "stack_user_domain_id",
           "stack_user_domain_name", "cache_ttl", "cache_size", "user_agent")


def load_config(path: str) -> Config:
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except OSError as exc:
        raise ConfigError(f"--config: cannot read the file ({exc.strerror})") from None
    except yaml.YAMLError:
        raise ConfigError("--config: not valid YAML") from None
    return parse_config(doc)
