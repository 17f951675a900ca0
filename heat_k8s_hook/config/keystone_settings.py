"""Keystone mode, as the operator configures it: the `keystone` map of hook.yaml (pure).

With it, the controller holds no Kubernetes credential: every run reaches the cluster as a
Keystone identity (a bearer token the cluster's TokenReview webhook validates against
Keystone), and RBAC on the cluster decides what that identity may touch. The operator, never
the template, chooses the identity:

- `heat_signal`: the deployment's own HEAT_SIGNAL credentials (deploy_auth_url, deploy_user_id,
  deploy_password, deploy_project_id), i.e. Heat's per-deployment stack user;
- `clouds_yaml`: one application credential in a clouds.yaml the operator put on the
  controller (a controller that serves one project).

Also pure: the identity a deployment gets, and the namespace that holds its records.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from heat_k8s_hook.errors import InvalidInput, Misconfigured
from heat_k8s_hook.schema import Invalid, Record, at, check, fields_of, one_of, text

HEAT_SIGNAL = "heat_signal"
CLOUDS_YAML = "clouds_yaml"
IDENTITIES = (HEAT_SIGNAL, CLOUDS_YAML)
SIGNAL_INPUTS = ("deploy_auth_url", "deploy_user_id", "deploy_password", "deploy_project_id")
MAX_CLOUDS_BYTES = 64 * 1024


@dataclass(frozen=True)
class KeystoneSettings:
    server: str                      # the cluster's API server, https://...
    certificate_authority: str       # the CA that signed the API server's certificate
    identity: str                    # heat_signal | clouds_yaml
    auth_url: Optional[str] = None   # heat_signal: the one Keystone deploy_auth_url may name
    clouds_yaml: str = "/etc/heat-k8s-hook/clouds.yaml"
    cloud: Optional[str] = None      # clouds_yaml: the entry to use
    keystone_ca: Optional[str] = None  # CA bundle for Keystone's TLS (else the system's)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Identity:
    """Who a run authenticates as; `secret` is the password or application credential secret."""

    auth_url: str
    secret: str
    user_id: str = ""
    project_id: str = ""
    app_cred_id: str = ""
    app_cred_name: str = ""
    username: str = ""
    user_domain: str = ""
    verify: Any = True               # True, False, or a CA bundle path

    @property
    def description(self) -> str:
        """Who, for error messages: ids only, never the secret."""
        if self.app_cred_id or self.app_cred_name:
            return f"Keystone application credential {self.app_cred_id or self.app_cred_name}"
        return f"Keystone user {self.user_id} (project {self.project_id}, HEAT_SIGNAL credentials)"


def _path(value: Any) -> str:
    if not isinstance(value, str) or not os.path.isabs(value):
        raise Invalid("expected an absolute path")
    return value


def _https(value: Any) -> str:
    if not text(value).startswith("https://"):
        raise Invalid("expected an https:// URL (the token is a bearer credential)")
    return value


def _cloud_named(values: dict) -> None:
    if values["identity"] == CLOUDS_YAML and values.get("cloud") is None:
        raise Invalid("missing (the clouds.yaml entry to use)", ("cloud",))


# The `keystone` map of hook.yaml, declared (schema.py): names, defaults and which are required
# from KeystoneSettings, checks here.
KEYSTONE = Record(fields_of(KeystoneSettings, {
    "server": _https, "certificate_authority": _path, "identity": one_of(IDENTITIES),
    "auth_url": text, "clouds_yaml": _path, "cloud": text, "keystone_ca": _path,
}), what="a map (server, certificate_authority, identity, ...)", checks=(_cloud_named,))


def parse_keystone(where: str, raw: Any) -> KeystoneSettings:
    """The `keystone` map of hook.yaml; every error names the setting (code 9)."""
    return KeystoneSettings(**check(KEYSTONE, raw, at(where), Misconfigured))


# --- the identity of one run ---------------------------------------------------------------------

def signal_identity(inputs: Mapping[str, Any], ks: KeystoneSettings) -> Identity:
    """The deployment's HEAT_SIGNAL credentials (code 2 naming the input when one is missing)."""
    for name in SIGNAL_INPUTS:
        if not isinstance(inputs.get(name), str) or not inputs[name]:
            raise InvalidInput(f"input {name}: missing; this controller authenticates each "
                               f"deployment with its HEAT_SIGNAL credentials (use "
                               f"signal_transport: HEAT_SIGNAL)")
    auth_url = inputs["deploy_auth_url"]
    if ks.auth_url and auth_url.rstrip("/") != ks.auth_url.rstrip("/"):
        raise InvalidInput("input deploy_auth_url: not the Keystone the operator allows "
                           "(keystone.auth_url in the operator settings)")
    return Identity(auth_url=ks.auth_url or auth_url, secret=inputs["deploy_password"],
                    user_id=inputs["deploy_user_id"], project_id=inputs["deploy_project_id"],
                    verify=ks.keystone_ca or True)


def cloud_identity(clouds: Any, ks: KeystoneSettings) -> Identity:
    """The application credential of entry `cloud` in a decoded clouds.yaml (code 9 if unusable)."""
    where = f"clouds.yaml {ks.clouds_yaml}: cloud {ks.cloud}"
    entry = clouds.get("clouds", {}).get(ks.cloud) if isinstance(clouds, Mapping) else None
    if not isinstance(entry, Mapping) or not isinstance(entry.get("auth"), Mapping):
        raise Misconfigured(f"{where}: missing, or has no auth map")
    auth = entry["auth"]
    if entry.get("auth_type", "v3applicationcredential") not in (
            "v3applicationcredential", "application_credential"):
        raise Misconfigured(f"{where}: auth_type must be v3applicationcredential")
    secret, url = auth.get("application_credential_secret"), auth.get("auth_url")
    app_id, app_name = auth.get("application_credential_id"), auth.get("application_credential_name")
    if not (isinstance(secret, str) and secret and isinstance(url, str) and url):
        raise Misconfigured(f"{where}: auth needs auth_url and application_credential_secret")
    if not (app_id or (app_name and (auth.get("user_id") or auth.get("username")))):
        raise Misconfigured(f"{where}: auth needs application_credential_id (or its name and "
                            f"the user)")
    verify = ks.keystone_ca or entry.get("cacert") or entry.get("verify", True)
    return Identity(auth_url=url, secret=secret, app_cred_id=str(app_id or ""),
                    app_cred_name=str(app_name or ""), user_id=str(auth.get("user_id") or ""),
                    username=str(auth.get("username") or ""),
                    user_domain=str(auth.get("user_domain_name") or auth.get("user_domain_id")
                                    or ""), verify=verify)


def read_clouds_yaml(path: str) -> Any:
    """The operator's clouds.yaml: a regular file only its owner may read (code 9 otherwise)."""
    import yaml
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise Misconfigured(f"clouds.yaml {path}: cannot be read ({exc.strerror})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Misconfigured(f"clouds.yaml {path}: not a regular file")
        if st.st_mode & 0o077:
            raise Misconfigured(f"clouds.yaml {path} is open to group or others (mode "
                                f"{stat.S_IMODE(st.st_mode):04o}); chmod 600 it")
        data = os.read(fd, MAX_CLOUDS_BYTES + 1)
    finally:
        os.close(fd)
    try:
        return yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError):
        raise Misconfigured(f"clouds.yaml {path}: invalid YAML") from None


# --- where a tenant's records live ----------------------------------------------------------------

def records_namespace(namespace_option: Optional[str], keystone: Optional[KeystoneSettings],
                      shared: str) -> str:
    """Where a deployment's records live (ApplySet parent, lease, outcome). With kubeconfig
    credentials the `shared` namespace; in Keystone mode the deployment's target namespace, so
    the tenant's own RBAC covers them and no other tenant's does."""
    if keystone is None:
        return shared
    if not namespace_option:
        raise InvalidInput("option namespace: required on this controller (Keystone credentials): "
                           "the deployment's records live in its namespace")
    return namespace_option


def refuse_kubeconfig(options: Any) -> None:
    """In Keystone mode the template cannot pick cluster credentials."""
    for name in ("kubeconfig", "context"):
        if getattr(options, name, None):
            raise InvalidInput(f"option {name}: not allowed on this controller: it reaches the "
                               f"cluster with Keystone credentials only (keystone in the "
                               f"operator settings)")
