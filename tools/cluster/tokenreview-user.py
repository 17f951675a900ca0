"""Make (or heal) the local TokenReview webhook's own Keystone user: `reader` on the system.

Run by tools/local-cluster webhook up with tools/venv's Python (keystoneauth1):
    TR_ADMIN_PASSWORD=... TR_SERVICE_PASSWORD=... python tokenreview-user.py AUTH_URL NAME
Under Keystone's default policies system `reader` may validate others' tokens and list users'
groups, the two calls the webhook makes, and nothing more (README). Passwords come from the
environment, never argv, and are never printed.
"""
import os
import sys

from keystoneauth1 import session
from keystoneauth1.identity import v3


def _works(url: str, name: str, password: str) -> bool:
    """Whether NAME can authenticate with PASSWORD (and is enabled)."""
    try:
        session.Session(auth=v3.Password(auth_url=url, username=name, password=password,
                                          user_domain_id="default")).get_token()
        return True
    except Exception:  # noqa: BLE001 - any refusal: the password is set again
        return False


def main() -> None:
    url, name = sys.argv[1].rstrip("/"), sys.argv[2]
    s = session.Session(auth=v3.Password(
        auth_url=url, username="admin", password=os.environ["TR_ADMIN_PASSWORD"],
        project_name="admin", user_domain_id="default", project_domain_id="default"))
    password = os.environ["TR_SERVICE_PASSWORD"]
    users = s.get(f"{url}/users?name={name}&domain_id=default").json()["users"]
    if users:
        uid = users[0]["id"]
        # Set the password only when it no longer works: a password change revokes the user's
        # tokens issued in the same second (Keystone's revocation events have second
        # precision), so the webhook started right after got 401 on its first call.
        if not _works(url, name, password):
            s.patch(f"{url}/users/{uid}", json={"user": {"password": password, "enabled": True}})
    else:
        uid = s.post(f"{url}/users", json={"user": {
            "name": name, "password": password, "domain_id": "default"}}).json()["user"]["id"]
    reader = s.get(f"{url}/roles?name=reader").json()["roles"][0]["id"]
    s.put(f"{url}/system/users/{uid}/roles/{reader}")


if __name__ == "__main__":
    main()
