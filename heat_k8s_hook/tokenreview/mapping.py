"""TokenReview in, TokenReview out: the pure part of the webhook (plain data, no I/O).

The user a token maps to is exactly what k8s-keystone-auth answers (cloud-provider-openstack,
pkg/identity/keystone/authenticator.go `AuthenticateToken`): username = Keystone user name,
uid = user id, groups = the user's Keystone group names + the token's project id, and the
`alpha.kubernetes.io/identity/...` extra keys. One addition for Heat stack users (see
`stack_owner_project`): the owner project's id as one more group, and an extra key naming it.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

API_GROUP = "authentication.k8s.io"
VERSIONS = ("v1", "v1beta1")

ROLES = "alpha.kubernetes.io/identity/roles"
PROJECT_ID = "alpha.kubernetes.io/identity/project/id"
PROJECT_NAME = "alpha.kubernetes.io/identity/project/name"
DOMAIN_ID = "alpha.kubernetes.io/identity/user/domain/id"
DOMAIN_NAME = "alpha.kubernetes.io/identity/user/domain/name"
STACK_OWNER = "heat-k8s-hook.dev/stack-owner-project-id"

# Heat names a stack's project "<owner project id>-<top stack id>"[:64]
# (heat_keystoneclient.py, create_stack_domain_project); Keystone's project ids are uuid4 hex.
# Anything else (ids with dashes from a custom backend) gets no owner group: fail closed.
_STACK_PROJECT_NAME = re.compile(r"^([0-9a-f]{32})-[0-9a-f-]+$")


class BadReview(ValueError):
    """The request is not a TokenReview this webhook answers (HTTP 400); names the field."""


@dataclass(frozen=True)
class Review:
    api_version: str
    token: str = field(repr=False)


@dataclass(frozen=True)
class User:
    username: str
    uid: str
    groups: tuple
    extra: dict

    def as_json(self) -> dict:
        return {"username": self.username, "uid": self.uid, "groups": list(self.groups),
                "extra": {k: list(v) for k, v in self.extra.items()}}


def parse_review(body: bytes) -> Review:
    """The apiVersion and token of a TokenReview request body; BadReview names what is wrong."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadReview("request body: not JSON") from None
    if not isinstance(doc, dict):
        raise BadReview("request body: not a JSON object")
    version = doc.get("apiVersion")
    if version not in tuple(f"{API_GROUP}/{v}" for v in VERSIONS):
        raise BadReview("apiVersion: must be authentication.k8s.io/v1 or v1beta1")
    if doc.get("kind") != "TokenReview":
        raise BadReview("kind: must be TokenReview")
    spec = doc.get("spec")
    token = spec.get("token") if isinstance(spec, dict) else None
    if not isinstance(token, str) or not token:
        raise BadReview("spec.token: missing or not a string")
    return Review(api_version=version, token=token)


def stack_owner_project(project: dict, stack_domain_id: str | None) -> str | None:
    """The owner project id of a Heat stack project, or None for any other project.

    Only a project in the stack-user domain (compared by id, as Keystone reported it in the
    validated token) counts: in that domain only Heat's stack domain admin creates projects,
    and Heat builds the name from the authenticated owner's project id. A look-alike name in
    any other domain is an ordinary project."""
    if not stack_domain_id:
        return None
    domain = project.get("domain") or {}
    if domain.get("id") != stack_domain_id:
        return None
    match = _STACK_PROJECT_NAME.match(project.get("name") or "")
    return match.group(1) if match else None


def user_from_token(token: dict, group_names: list, stack_domain_id: str | None) -> User:
    """The Kubernetes user of a validated Keystone v3 token body (`token` of GET
    /v3/auth/tokens) and the user's Keystone group names. A token without a project scope is
    refused (as upstream does): ValueError."""
    user = token.get("user") or {}
    project = token.get("project")
    if not isinstance(project, dict) or not project.get("id"):
        raise ValueError("the token is not scoped to a project")
    user_domain = user.get("domain") or {}
    extra = {
        ROLES: [r.get("name", "") for r in token.get("roles") or []],
        PROJECT_ID: [project["id"]],
        PROJECT_NAME: [project.get("name", "")],
        DOMAIN_ID: [user_domain.get("id", "")],
        DOMAIN_NAME: [user_domain.get("name", "")],
    }
    groups = list(group_names) + [project["id"]]
    owner = stack_owner_project(project, stack_domain_id)
    if owner:
        groups.append(owner)
        extra[STACK_OWNER] = [owner]
    return User(username=user.get("name", ""), uid=user.get("id", ""), groups=tuple(groups),
                extra=extra)


def review_response(api_version: str, user: User | None, error: str = "") -> dict:
    """The TokenReview answer: authenticated with the user, or not (with a short cause that
    never contains the token)."""
    status: dict = {"authenticated": user is not None}
    if user is not None:
        status["user"] = user.as_json()
    if error:
        status["error"] = error
    return {"apiVersion": api_version, "kind": "TokenReview", "status": status}
