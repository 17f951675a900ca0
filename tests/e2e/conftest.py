"""Session fixtures for the Heat end to end (issue 7): a real Heat, a real controller agent.

- `local_heat`: tools/local-heat up (Keystone, RabbitMQ, heat-api, heat-engine; idempotent).
- `heat`: python-heatclient (the pinned one in local-heat's venv) behind a small JSON-lines
  helper process, because the Python that runs pytest has no OpenStack libraries.
- `controller`: a stack with one OS::Heat::DeployedServer (examples/heat/controller.yaml); once it
  is CREATE_COMPLETE, tools/bootstrap-controller turns this machine into its controller from the
  server's os_collect_config attribute: os-collect-config polls Heat, heat-agents' 55-heat-config
  runs hooks/kubectl, heat-config-notify signals back (HEAT_SIGNAL).

A component that cannot start fails the test with its cause; nothing skips.
"""
from __future__ import annotations

import json
import os
import pathlib
import random
import shutil
import socket
import subprocess
import sys
import time
import uuid

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "heat"
CACHE = pathlib.Path(os.environ.get("HEAT_K8S_HOOK_CACHE", pathlib.Path.home() / ".cache" / "heat-k8s-hook"))
# Test configuration: os-collect-config polls every 1 s after a change, backing off to this.
POLL_MAX = float(os.environ.get("HEAT_K8S_HOOK_E2E_POLL", "2"))
RUN_ID = uuid.uuid4().hex[:6]


def _fail(msg: str) -> None:
    pytest.fail(msg, pytrace=False)


def free_port() -> int:
    """A free port on 127.0.0.1 below the ephemeral range and away from the local Heat's
    (24369-28004); callers may use the next few ports too (the compose examples do)."""
    for _ in range(100):
        port = random.randrange(20000, 24000)
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return port
    pytest.fail("no free port in 20000-24000", pytrace=False)


def _tail(text: str, n: int = 25) -> str:
    return "\n".join((text or "").strip().splitlines()[-n:])


@pytest.fixture(scope="session")
def local_heat() -> dict:
    """Start (or find running) the local Heat; returns the env of its demo project."""
    proc = subprocess.run([str(ROOT / "tools" / "local-heat"), "up"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=1800)
    if proc.returncode != 0:
        _fail(f"the local Heat could not start (tools/local-heat up):\n{_tail(proc.stderr)}")
    env_file = proc.stdout.strip().splitlines()[-1]
    env = {}
    for line in open(env_file, encoding="utf-8"):
        if line.startswith("export "):
            key, _, value = line[len("export "):].strip().partition("=")
            env[key] = value
    return env


class Heat:
    """python-heatclient calls through heatrpc.py, plus stack helpers."""

    def __init__(self, env: dict):
        self.env = env
        python = os.path.join(env["LOCAL_HEAT_VENV"], "bin", "python")
        self.proc = subprocess.Popen(
            [python, str(pathlib.Path(__file__).with_name("heatrpc.py"))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, **env))

    def call(self, name: str, *args, **kwargs):
        self.proc.stdin.write(json.dumps({"call": name, "args": args, "kwargs": kwargs}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            _fail(f"the heatclient helper died:\n{_tail(self.proc.stderr.read())}")
        answer = json.loads(line)
        if "error" in answer:
            raise HeatError(f"{name}: {answer['type']}: {answer['error']}")
        return answer["ok"]

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(10)

    # --- stacks --------------------------------------------------------------------------------
    @staticmethod
    def example(name: str) -> str:
        """The text of a template in examples/heat/."""
        return _template(name)

    def create(self, name: str, template: str, parameters: dict | None = None,
               timeout: float = 300) -> str:
        """Create a stack of examples/heat/ and wait until it settles (see create_settled)."""
        stack_id, _ = self.create_settled(name, timeout, template=_template(template),
                                          parameters=parameters or {}, timeout_mins=10)
        return stack_id

    def create_settled(self, name: str, timeout: float, tries: int = 3, **create_args):
        """Create and wait, creating again (under a new name) when the local Heat answered the
        create with a 500 (Keystone refusing Heat's trust with a domain-scoped token, seen in CI
        runs on 2 cores). Any other outcome, failures of the hook included, is returned. (With
        sqlite, before session 5, "database is locked" failed stacks too; PostgreSQL ended that.)"""
        for attempt in range(tries):
            last = attempt + 1 == tries
            try:
                body = self.call("stacks.create", stack_name=name if not attempt else
                                 f"{name}-r{attempt}", **create_args)
            except HeatError as exc:
                if last or "InternalServerError" not in str(exc):
                    raise
                time.sleep(2)
                continue
            stack_id = body["stack"]["id"]
            return stack_id, self.wait(stack_id, "CREATE", timeout)
        raise AssertionError("unreachable")

    def update(self, stack_id: str, template: str | None = None, parameters: dict | None = None,
               timeout: float = 300) -> dict:
        """Update a stack and wait until it settles."""
        kwargs = {"existing": True, "parameters": parameters or {}}
        if template:
            kwargs["template"] = _template(template)
        self.call("stacks.update", stack_id, **kwargs)
        return self.wait(stack_id, "UPDATE", timeout)

    def stack(self, stack_id: str) -> dict:
        return self.call("stacks.get", stack_id)

    def wait(self, stack_id: str, action: str, timeout: float = 300) -> dict:
        """Poll until the stack's `action` is no longer IN_PROGRESS; returns the stack."""
        end = time.monotonic() + timeout
        while True:
            try:
                st = self.stack(stack_id)
            except HeatError as exc:
                if action == "DELETE" and "HTTPNotFound" in str(exc):
                    return {"stack_status": "DELETE_COMPLETE", "stack_status_reason": "gone"}
                raise
            if st["stack_status"] != f"{action}_IN_PROGRESS":
                return st
            if time.monotonic() > end:
                _fail(f"stack {stack_id} still {st['stack_status']} after {timeout}s")
            time.sleep(0.25)

    def outputs(self, stack_id: str) -> dict:
        return {o["output_key"]: o.get("output_value") for o in self.stack(stack_id)["outputs"]}

    def resource(self, stack_id: str, name: str) -> dict:
        return self.call("resources.get", stack_id, name)

    def deployment(self, stack_id: str, resource: str) -> dict:
        sd_id = self.resource(stack_id, resource)["physical_resource_id"]
        return self.call("software_deployments.get", sd_id)

    def events(self, stack_id: str) -> list:
        return self.call("events.list", stack_id)


class HeatError(Exception):
    pass


def _template(name: str) -> str:
    return (EXAMPLES / name).read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def heat(local_heat):
    client = Heat(local_heat)
    try:
        client.call("stacks.list")
    except HeatError as exc:
        _fail(f"the local Heat API does not answer: {exc}")
    yield client
    client.close()


class Controller:
    def __init__(self, server_id: str, root: pathlib.Path, stack_id: str):
        self.server_id, self.root, self.stack_id = server_id, root, stack_id
        self.log = root / "var" / "log" / "heat-k8s-hook" / "agent.log"
        self.deployed = root / "var" / "lib" / "heat-config" / "deployed"

    def notify(self, deployment_id_or_config: str | None = None) -> list:
        """All .notify.json files the agent wrote (what the hook answered), oldest first."""
        files = sorted(self.deployed.glob("*.notify.json"), key=lambda p: p.stat().st_mtime)
        return [json.loads(p.read_text()) for p in files]


@pytest.fixture(scope="session")
def controller(heat, local_heat, kubeconfig) -> Controller:
    """A DeployedServer in Heat, and this machine bootstrapped as its controller (heat-agents'
    script hook installed next to ours)."""
    ctl = bootstrap_agent(heat, local_heat, f"k8s-controller-{RUN_ID}", "controller",
                          "--kubeconfig", kubeconfig, "--extra-hook", "script")
    yield ctl
    stop_agent(heat, ctl)


class Kube:
    def __init__(self, kubectl: str, kubeconfig: str):
        self.base = [kubectl, "--kubeconfig", kubeconfig]

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict | None:
        cmd = self.base + ["get", kind, name, "-o", "json"]
        if namespace:
            cmd += ["-n", namespace]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=60)
        if proc.returncode != 0:
            if "NotFound" in proc.stderr:
                return None
            _fail(f"kubectl get {kind} {name}: {proc.stderr}")
        return json.loads(proc.stdout)

    def list(self, kind: str, namespace: str, selector: str | None = None) -> list:
        cmd = self.base + ["get", kind, "-n", namespace, "-o", "json"]
        if selector:
            cmd += ["-l", selector]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=60)
        if proc.returncode != 0:
            _fail(f"kubectl get {kind} -n {namespace}: {proc.stderr}")
        return json.loads(proc.stdout)["items"]


@pytest.fixture(scope="session")
def kube(kubectl_bin, kubeconfig) -> Kube:
    return Kube(kubectl_bin, kubeconfig)


@pytest.fixture(scope="module")
def kubectl(kubectl_bin, kubeconfig):
    """kubectl as the local cluster's admin (the operator), never the hook's credential."""
    def run(*args: str, stdin: str | None = None, check: bool = True):
        proc = subprocess.run([kubectl_bin, "--kubeconfig", kubeconfig, *args], input=stdin,
                              capture_output=True, text=True, timeout=60)
        if check and proc.returncode != 0:
            _fail(f"kubectl {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout if check else proc
    return run


@pytest.fixture
def unique():
    """A short unique suffix for stack and namespace names of one test."""
    return f"{RUN_ID}-{uuid.uuid4().hex[:4]}"


def pytest_report_header(config):
    return [f"heat e2e: run {RUN_ID}, os-collect-config polling 1..{POLL_MAX}s, "
            f"python {sys.version.split()[0]}"]


# --- issue 14: the docker-compose backend ----------------------------------------------------------

DOCKER_CLI = "/usr/bin/docker"   # Debian's docker.io (tools/local-docker), not another on PATH


class Docker:
    """The private dockerd of tools/local-docker: its DOCKER_HOST and a few CLI calls."""

    def __init__(self, host: str):
        self.host = host

    def run(self, *args: str) -> str:
        proc = subprocess.run([DOCKER_CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=60, env=dict(os.environ, DOCKER_HOST=self.host))
        if proc.returncode != 0:
            _fail(f"docker {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout

    def containers(self, project: str) -> dict:
        """Containers of a compose project (running or not): name -> state."""
        out = self.run("ps", "-a", "--filter", f"label=com.docker.compose.project={project}",
                       "--format", "{{.Names}} {{.State}}")
        return dict(line.split(" ", 1) for line in out.splitlines() if line.strip())


@pytest.fixture(scope="session")
def local_docker() -> Docker:
    """tools/local-docker up: a dockerd on its own socket and data root, started (and at the end
    stopped) by pid, with the local busybox image; Debian's docker.io and docker-compose."""
    tool = str(ROOT / "tools" / "local-docker")
    proc = subprocess.run([tool, "up"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=900)
    if proc.returncode != 0:
        _fail(f"the local Docker engine could not start (tools/local-docker up):\n{_tail(proc.stderr)}")
    yield Docker(proc.stdout.strip().splitlines()[-1])
    subprocess.run([tool, "down"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)


def bootstrap_agent(heat, local_heat, name: str, root_name: str, *args: str) -> Controller:
    """A DeployedServer stack `name`, and an agent for it on this machine under
    <local heat state>/<root_name>, started by tools/bootstrap-controller with `args`."""
    stack_id = heat.create(name, "controller.yaml", {"name": name})
    st = heat.wait(stack_id, "CREATE", 120)
    if st["stack_status"] != "CREATE_COMPLETE":
        _fail(f"the server stack {name} failed: {st['stack_status_reason']}")
    out = heat.outputs(stack_id)
    root = pathlib.Path(local_heat["LOCAL_HEAT_STATE"]) / root_name
    shutil.rmtree(root, ignore_errors=True)
    meta = root / "os_collect_config.json"
    root.mkdir(parents=True)
    meta.write_text(json.dumps(out["os_collect_config"]))
    proc = subprocess.run(
        [str(ROOT / "tools" / "bootstrap-controller"), "--root", str(root),
         "--venv", str(CACHE / "heat" / "venv-agent"), "--metadata", str(meta),
         "--polling-interval", str(POLL_MAX), "--min-polling-interval", "1", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=1800)
    if proc.returncode != 0:
        _fail(f"tools/bootstrap-controller ({name}) failed:\n{_tail(proc.stderr)}")
    return Controller(out["server_id"], root, stack_id)


def stop_agent(heat, agent: Controller) -> None:
    subprocess.run([str(ROOT / "tools" / "bootstrap-controller"), "--root", str(agent.root),
                    "--stop"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    try:
        heat.call("stacks.delete", agent.stack_id)
        heat.wait(agent.stack_id, "DELETE", 60)
    except HeatError:
        pass


@pytest.fixture(scope="session")
def compose_host(heat, local_heat, local_docker) -> Controller:
    """A second DeployedServer, and a second agent on this machine (its own --root) with
    heat-agents' docker-compose hook and configure.d script, talking to the local dockerd."""
    host = bootstrap_agent(heat, local_heat, f"compose-host-{RUN_ID}", f"compose-host-{RUN_ID}",
                           "--extra-hook", "docker-compose",
                           "--env", f"DOCKER_HOST={local_docker.host}")
    yield host
    stop_agent(heat, host)
    shutil.rmtree(host.root, ignore_errors=True)


@pytest.fixture(scope="session")
def k8s_server(request, heat, local_heat, kubeconfig) -> Controller:
    """The server for kubectl deployments: the session's `controller`, or, with
    HEAT_K8S_HOOK_E2E_PRIVATE_CONTROLLER=1, an agent of its own (for runs that share the
    machine with other e2e runs: `controller` has one fixed root, which each run takes over)."""
    if os.environ.get("HEAT_K8S_HOOK_E2E_PRIVATE_CONTROLLER") != "1":
        yield request.getfixturevalue("controller")
        return
    agent = bootstrap_agent(heat, local_heat, f"k8s-server-{RUN_ID}", f"k8s-server-{RUN_ID}",
                            "--kubeconfig", kubeconfig)
    yield agent
    stop_agent(heat, agent)
    shutil.rmtree(agent.root, ignore_errors=True)


# --- issue 13: Keystone identities on the cluster ------------------------------------------------

@pytest.fixture(scope="session")
def tokenreview_env(local_heat, kubeconfig) -> dict:
    """tools/local-cluster webhook up: the TokenReview webhook against local-heat's Keystone, and
    the cluster wired to it. Its env file: TOKENREVIEW_URL/_CA/_CLIENT_CERT/_CLIENT_KEY/_CONFIG/
    _LOG, KUBE_SERVER, KUBE_CA (no secrets)."""
    proc = subprocess.run([str(ROOT / "tools" / "local-cluster"), "webhook", "up"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=1800)
    if proc.returncode != 0:
        _fail(f"the TokenReview webhook could not start (tools/local-cluster webhook up):\n"
              f"{_tail(proc.stderr)}")
    env = {}
    for line in open(proc.stdout.strip().splitlines()[-1], encoding="utf-8"):
        if line.startswith("export "):
            key, _, value = line[len("export "):].strip().partition("=")
            env[key] = value
    return env


@pytest.fixture(scope="session")
def keystone_admin(local_heat):
    """Keystone's admin (tests/e2e/keystoneadmin.py); what a test makes is deleted at the end."""
    from keystoneadmin import KeystoneAdmin

    admin = KeystoneAdmin(local_heat["OS_AUTH_URL"], local_heat["LOCAL_HEAT_ADMIN_PASSWORD"])
    yield admin
    admin.cleanup()
