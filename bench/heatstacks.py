"""bench/heat's stacks: the web example, ten deployments (some ordered by depends_on) and the web
example with a missing image, each for the kubectl hook and for heat-agents' `script` hook.

The kubectl hook's web stack is examples/heat/web-app.yaml itself; every other template is built
here. The script hook gets what an operator would write: the same manifests in a file,
`kubectl apply --server-side -f FILE`, then `kubectl rollout status` of each Deployment with the
same timeout the hook is given, and the Service's clusterIP as an output.
"""
from __future__ import annotations

import pathlib

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
TIMEOUT = 120            # the hook's `timeout` option and the script's rollout status --timeout
TEN_DEPENDS = {"app1": "app0", "app2": "app1", "app4": "app3", "app6": "app5"}


def web_manifests(ns: str, image: str, replicas: int = 2, message: str = "hello from Heat") -> list:
    """The objects of examples/heat/web-app.yaml (with_banner true), values filled in."""
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web-config", "namespace": ns},
         "data": {"message": message}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": ns},
         "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}},
                               "spec": {"containers": [{"name": "web", "image": image,
                                                        "ports": [{"containerPort": 80}]}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": ns},
         "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 80}]}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web-banner", "namespace": ns},
         "data": {"banner": message}},
    ]


def script_config(objs: list, ns: str) -> str:
    """What an operator writes for the script hook: apply, wait for each Deployment, output."""
    manifest = yaml.safe_dump_all(objs, sort_keys=False)
    waits = "".join(f'"$kubectl" rollout status deployment/{o["metadata"]["name"]} -n {ns} '
                    f"--timeout={TIMEOUT}s\n" for o in objs if o["kind"] == "Deployment")
    return ("#!/bin/sh\nset -e\nf=$(mktemp)\ncat > \"$f\" <<'MANIFESTS'\n" + manifest
            + "MANIFESTS\n\"$kubectl\" apply --server-side -f \"$f\"\nrm -f \"$f\"\n" + waits
            + f'"$kubectl" get service web -n {ns} -o jsonpath="{{.spec.clusterIP}}" '
            '> "$heat_outputs_path.cluster_ip"\n')


def deployment_pair(name: str, hook: str, objs: list, ns: str, kubectl: str) -> dict:
    """A SoftwareConfig + SoftwareDeployment for one set of objects."""
    if hook == "kubectl":
        props = {"group": "kubectl", "config": yaml.safe_dump_all(objs, sort_keys=False),
                 "options": {"timeout": TIMEOUT}, "outputs": [{"name": "cluster_ip"}]}
        props["options"]["outputs"] = {"cluster_ip": "Service/web:{.spec.clusterIP}"}
        dep = {"actions": ["CREATE", "UPDATE", "DELETE"]}
    else:
        props = {"group": "script", "config": script_config(objs, ns),
                 "inputs": [{"name": "kubectl"}], "outputs": [{"name": "cluster_ip"}]}
        dep = {"actions": ["CREATE", "UPDATE"], "input_values": {"kubectl": kubectl}}
    return {
        f"{name}_config": {"type": "OS::Heat::SoftwareConfig", "properties": props},
        name: {"type": "OS::Heat::SoftwareDeployment",
               "properties": dict(dep, config={"get_resource": f"{name}_config"},
                                  server={"get_param": "server"},
                                  signal_transport="HEAT_SIGNAL")},
    }


def template(case: str, hook: str, server: str, ns: str, kubectl: str) -> tuple:
    """(template text, parameters) for a case (web | ten | failing) and hook (kubectl | script)."""
    if case in ("web", "failing") and hook == "kubectl":
        params = {"server": server, "namespace": ns, "replicas": 2, "timeout": TIMEOUT,
                  "image": "nginx:missing" if case == "failing" else "nginx:1.27"}
        return (ROOT / "examples" / "heat" / "web-app.yaml").read_text(), params
    resources: dict = {}
    if case in ("web", "failing"):
        image = "nginx:missing" if case == "failing" else "nginx:1.27"
        resources.update(deployment_pair("deployment", hook, web_manifests(ns, image), ns,
                                         kubectl))
    else:
        for i in range(10):
            name = f"app{i}"
            resources.update(deployment_pair(name, hook, web_manifests(f"{ns}-{i}", "nginx:1.27"),
                                             f"{ns}-{i}", kubectl))
            if name in TEN_DEPENDS:
                resources[name]["depends_on"] = [TEN_DEPENDS[name]]
    body = {"heat_template_version": "2021-04-16",
            "parameters": {"server": {"type": "string"}}, "resources": resources}
    return yaml.safe_dump(body, sort_keys=False), {"server": server}


def namespaces(case: str, ns: str) -> list:
    return [f"{ns}-{i}" for i in range(10)] if case == "ten" else [ns]
