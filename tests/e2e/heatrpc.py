"""A python-heatclient server on stdin/stdout, run with the local-heat venv's Python.

The test process (whatever Python runs pytest) has no OpenStack libraries; this helper runs
python-heatclient (the pinned one in tools/local-heat's venv) once per session and answers one
JSON request per line: {"call": "stacks.get", "args": [...], "kwargs": {...}} ->
{"ok": result} or {"error": "...", "type": "HTTPNotFound"}. Credentials come from OS_* env.
"""
import json
import os
import sys

from heatclient import client as heat_client
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3


def plain(value):
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, (list, tuple)) or type(value).__name__ == "generator":
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def main():
    auth = v3.Password(
        auth_url=os.environ["OS_AUTH_URL"], username=os.environ["OS_USERNAME"],
        password=os.environ["OS_PASSWORD"], project_name=os.environ["OS_PROJECT_NAME"],
        user_domain_id=os.environ.get("OS_USER_DOMAIN_ID", "default"),
        project_domain_id=os.environ.get("OS_PROJECT_DOMAIN_ID", "default"))
    heat = heat_client.Client("1", session=ks_session.Session(auth=auth),
                              region_name=os.environ.get("OS_REGION_NAME"))
    out = sys.stdout
    sys.stdout = sys.stderr  # nothing but answers on the real stdout
    for line in sys.stdin:
        req = json.loads(line)
        try:
            target = heat
            for part in req["call"].split("."):
                target = getattr(target, part)
            result = plain(target(*req.get("args", []), **req.get("kwargs", {})))
            answer = {"ok": result}
        except Exception as exc:  # reported to the test, which decides
            answer = {"error": str(exc), "type": type(exc).__name__}
        out.write(json.dumps(answer) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
