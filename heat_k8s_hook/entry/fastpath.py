"""The fast re-delivery: answer a deployment that provably changes nothing, from a record.

After a successful apply the full path records, in the inventory parent (`outcome`), a key of
what was delivered (config, inputs, options, the operator's settings file, the kubeconfig
used: `delivery_key`), the labelled LISTs that find every member, a digest of the members'
resourceVersions as those LISTs returned them, and the answer (deploy_stdout, outputs).
A re-delivery whose key matches, and whose LISTs give the same digest (no member changed, none
added or removed, not even its status), is answered from the record: no YAML parsed, no
`kubernetes` import, no write. Anything else, or any doubt, returns None: the full path runs.
Standard library only: this module runs before the hook imports anything heavier.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import time
import zlib
from typing import Mapping, Optional

# The full path's own facts, from modules that import the standard library only, too.
from heat_k8s_hook import __version__
from heat_k8s_hook.config.settings import DEFAULT_PATH as SETTINGS_PATH
from heat_k8s_hook.config.settings import ENV_VAR as SETTINGS_ENV
from heat_k8s_hook.engine import inventory
from heat_k8s_hook.engine.inventory import NAMESPACE as RECORDS_NAMESPACE  # noqa: N811
from heat_k8s_hook.errors import HookError
from heat_k8s_hook.input.limits import Limits
from heat_k8s_hook.input.owner import owner
from heat_k8s_hook.names import APPLY_ACTIONS, DEFAULT_KUBECONFIG, logical_name, parent_name, slug_for

ENV_SWITCH = "HEAT_K8S_HOOK_FAST_PATH"     # "0": always the full path (tests, benchmarks)
KEPT_INPUTS = frozenset({"deploy_stack_id", "deploy_resource_name"})
MAX_BYTES = Limits().max_stdin_bytes   # read before the settings are: the default limit


def _no_duplicates(pairs: list) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("duplicate key")
    return out


def load(data: bytes) -> Optional[dict]:
    """The deployment as plain JSON (None when the strict reader of the full path might say
    otherwise: duplicate keys, NaN, not an object)."""
    try:
        payload = json.loads(data, object_pairs_hook=_no_duplicates,
                             parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return payload if isinstance(payload, dict) else None


def _inputs(payload: Mapping) -> dict:
    return {i.get("name"): i for i in payload.get("inputs") or [] if isinstance(i, dict)}


def _file_fact(path: str) -> list:
    try:
        st = os.stat(path)
        with open(path, "rb") as f:
            content = hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return [path, None]
    return [path, st.st_mode, st.st_uid, content]


def kubeconfig_path(payload: Mapping, environ: Mapping[str, str]) -> Optional[str]:
    """The kubeconfig the full path would use (cluster.credentials_for's order: the option,
    $KUBECONFIG, the operator's default_kubeconfig), or None when only it can tell (Keystone
    credentials, in-cluster, a settings file this line reader cannot read for certain)."""
    settings = environ.get(SETTINGS_ENV) or SETTINGS_PATH
    default = DEFAULT_KUBECONFIG
    try:
        with open(settings, encoding="utf-8") as f:
            text = f.read()
        if re.search(r"^\s*keystone\s*:", text, re.M):
            return None   # Keystone credentials: the full path reads them
        named = re.findall(r"^default_kubeconfig\s*:\s*(\S+)\s*$", text, re.M)
        if len(named) != len(re.findall(r"default_kubeconfig", text)) or len(named) > 1 or \
                any(n[0] in "'\"&*!|>{[" for n in named):
            return None   # quoted, flow style, an alias, a comment: YAML decides, not a regex
        default = named[0] if named else default
    except FileNotFoundError:
        pass
    except (OSError, ValueError):
        return None
    option = (payload.get("options") or {}).get("kubeconfig")
    if isinstance(option, str) and option:
        return option
    env = environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    if env:
        return env
    return default if os.path.exists(default) else None


def delivery_key(payload: Mapping, environ: Mapping[str, str] = os.environ) -> Optional[str]:
    """What decides the result, hashed: everything delivered but the per-action fields, the
    hook's version, the settings file and the kubeconfig (path, mode, owner, content). Keyed
    with the deployment's password, so the record tells nothing about secret inputs."""
    inputs = _inputs(payload)
    action = (inputs.get("deploy_action") or {}).get("value")
    path = kubeconfig_path(payload, environ)
    if action not in APPLY_ACTIONS or path is None:
        return None
    facts = {
        "version": __version__, "group": payload.get("group"), "config": payload.get("config"),
        "options": payload.get("options"), "outputs": payload.get("outputs"),
        "inputs": sorted((json.dumps(i, sort_keys=True) for name, i in inputs.items()
                          if not str(name).startswith("deploy_") or name in KEPT_INPUTS)),
        "settings": _file_fact(environ.get(SETTINGS_ENV) or SETTINGS_PATH),
        "kubeconfig": _file_fact(path), "context": (payload.get("options") or {}).get("context"),
        # a replacement resource takes the full path, which records it as the owner (ha.OWNERS)
        "owner": owner({name: i.get("value") for name, i in inputs.items()}),
    }
    secret = str((inputs.get("deploy_password") or {}).get("value") or "").encode()
    blob = json.dumps(facts, sort_keys=True, default=str).encode()
    return hmac.new(b"heat-k8s-hook/" + secret, blob, hashlib.sha256).hexdigest()


def parent_path(payload: Mapping) -> str:
    return naming(payload)[1]


def naming(payload: Mapping) -> tuple:
    """(Deployment.identity, the path of its inventory parent: inventory.parent_name(slug)),
    kept equal by tests/unit/test_fastpath.py (a drift only makes the fast path miss)."""
    inputs = _inputs(payload)
    stack = str((inputs.get("deploy_stack_id") or {}).get("value") or "")
    resource = str((inputs.get("deploy_resource_name") or {}).get("value") or "")
    name, ident = str(payload.get("name") or ""), str(payload.get("id") or "")
    named = (payload.get("options") or {}).get("application")
    application = named or logical_name(name) or resource
    if named:
        identity = f"application/{named}"
    elif stack and application:
        identity = f"{stack}/{application}"
    else:
        identity = name or ident
    parent = parent_name(slug_for(stack, application, identity))
    return identity, f"/api/v1/namespaces/{RECORDS_NAMESPACE}/configmaps/{parent}"


def try_answer(data: bytes, environ: Mapping[str, str] = os.environ,
               started: Optional[float] = None) -> Optional[dict]:
    """The heat-config result of a re-delivery that changes nothing, or None (full path)."""
    started = time.monotonic() if started is None else started
    if environ.get(ENV_SWITCH) == "0":
        return None
    payload = load(data)
    key = delivery_key(payload, environ) if payload else None
    if key is None:
        return None
    from heat_k8s_hook.kube import tinykube
    try:
        path = kubeconfig_path(payload, environ)
        st = os.stat(path)
        if st.st_mode & 0o077:
            return None  # the full path refuses it (code 9): let it say so
        client = tinykube.Client(path, (payload.get("options") or {}).get("context"))
        try:
            return _answer(client, payload, key, started)
        finally:
            client.close()
    except (OSError, ValueError, KeyError, TypeError, tinykube.Unsupported, HookError):
        return None   # any doubt, an unreachable server included: the full path says why


def _answer(client, payload: Mapping, key: str, started: float) -> Optional[dict]:
    status, body = client.get(parent_path(payload))
    if status != 200:
        return None
    outcome = json.loads(((json.loads(body).get("data") or {}).get("outcome")) or "null")
    if not isinstance(outcome, dict) or not hmac.compare_digest(outcome.get("key", ""), key):
        return None
    listings = []
    for scope in outcome["scopes"]:
        status, body = client.get(scope, inventory.METADATA_LIST)
        if status != 200:
            return None
        listings.append((scope, json.loads(body)))
    if inventory.digest(listings) != outcome["digest"]:
        return None
    inputs = _inputs(payload)
    action = inputs["deploy_action"]["value"]
    ident = naming(payload)[0]
    line = (f"[{time.monotonic() - started:6.2f}s] {action} {ident}: re-delivery of the recorded "
            f"apply: {outcome['objects']} object(s) unchanged, none changed since it was ready "
            f"(resourceVersions checked by {len(listings)} LIST(s)); nothing sent")
    result = {"deploy_stdout": zlib.decompress(base64.b64decode(outcome["stdout"])).decode(),
              "deploy_stderr": line + "\n", "deploy_status_code": 0}
    result.update(outcome["outputs"])
    return result
