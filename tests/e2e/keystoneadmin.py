"""Keystone administration for the e2e tests (issue 13): projects, users, groups, role grants,
tokens, on tools/local-heat's real Keystone, as its admin. Everything made is deleted by
`cleanup()`. Passwords and tokens are returned, never printed.
"""
from __future__ import annotations

import time
import uuid


class KeystoneError(Exception):
    pass


class KeystoneAdmin:
    def __init__(self, auth_url: str, admin_password: str):
        from keystoneauth1 import session
        from keystoneauth1.identity import v3

        self.auth_url = auth_url.rstrip("/")
        self.session = session.Session(auth=v3.Password(
            auth_url=self.auth_url, username="admin", password=admin_password,
            project_name="admin", user_domain_id="default", project_domain_id="default"))
        self.made: list = []  # (path) of what was created, deleted newest first
        self._roles: dict = {}

    def call(self, method: str, path: str, expect=(200, 201, 204), authenticated=True, **kw):
        resp = self.session.request(self.auth_url + path, method, raise_exc=False,
                                    authenticated=authenticated, **kw)
        if resp.status_code not in expect:
            raise KeystoneError(f"{method} {path.split('?')[0]}: Keystone answered "
                                f"{resp.status_code}")
        return resp

    def _make(self, collection: str, kind: str, body: dict) -> dict:
        obj = self.call("POST", f"/{collection}", json={kind: body}).json()[kind]
        self.made.append(f"/{collection}/{obj['id']}")
        return obj

    def domain_id(self, name: str) -> str:
        found = self.call("GET", f"/domains?name={name}").json()["domains"]
        if len(found) != 1:
            raise KeystoneError(f"no Keystone domain {name!r}")
        return found[0]["id"]

    def role_id(self, name: str) -> str:
        if name not in self._roles:
            found = self.call("GET", f"/roles?name={name}").json()["roles"]
            if len(found) != 1:
                raise KeystoneError(f"no Keystone role {name!r}")
            self._roles[name] = found[0]["id"]
        return self._roles[name]

    def project(self, name: str, domain_id: str = "default") -> dict:
        return self._make("projects", "project", {"name": name, "domain_id": domain_id})

    def user(self, name: str, password: str, domain_id: str = "default") -> dict:
        return self._make("users", "user", {"name": name, "password": password,
                                            "domain_id": domain_id})

    def group(self, name: str, domain_id: str = "default") -> dict:
        return self._make("groups", "group", {"name": name, "domain_id": domain_id})

    def add_to_group(self, group_id: str, user_id: str) -> None:
        self.call("PUT", f"/groups/{group_id}/users/{user_id}")

    def grant(self, role: str, user_id: str, project_id: str) -> None:
        self.call("PUT", f"/projects/{project_id}/users/{user_id}/roles/{self.role_id(role)}")

    def token(self, user_id: str, password: str, project_id: str) -> str:
        """A project-scoped token of the user (password method), as the user gets it."""
        body = {"auth": {"identity": {"methods": ["password"], "password": {
            "user": {"id": user_id, "password": password}}},
            "scope": {"project": {"id": project_id}}}}
        resp = self.call("POST", "/auth/tokens?nocatalog", json=body, authenticated=False)
        return resp.headers["X-Subject-Token"]

    def revoke(self, token: str) -> None:
        self.call("DELETE", "/auth/tokens", headers={"X-Subject-Token": token})

    def person(self, project_id: str, role: str = "member", domain_id: str = "default",
               prefix: str = "tr") -> tuple:
        """A new user with `role` on the project: (user, password)."""
        password = uuid.uuid4().hex
        user = self.user(f"{prefix}-{uuid.uuid4().hex[:8]}", password, domain_id)
        self.grant(role, user["id"], project_id)
        return user, password

    def _delete(self, path: str) -> None:
        """DELETE, again after a 500: the local Keystone's sqlite answers "database is locked"
        now and then when several test sessions write at once (seen in its log)."""
        for attempt in range(4):
            try:
                self.call("DELETE", path, expect=(204, 404))
                return
            except KeystoneError:
                if attempt == 3:
                    raise
                time.sleep(1 + attempt)

    def cleanup(self) -> None:
        for path in reversed(self.made):
            if path.startswith("/domains/"):  # Keystone deletes only a disabled domain
                self.call("PATCH", path, json={"domain": {"enabled": False}}, expect=(200, 404))
            self._delete(path)
        self.made.clear()
