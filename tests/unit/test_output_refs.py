"""An output's object reference (`outputs: {name: "<ref>:{jsonpath}"}`): which part is a group,
a Kind, a namespace and a name. `ConfigMap/default/c` was read as the Kind `default` of group
`ConfigMap` (any namespace of letters and digits only), and the deployment failed with code 2
"not an object of this config"; found by mutation testing (runner's output_sources)."""
from __future__ import annotations

import pytest
from wiring import deployment, through_pipeline

from heat_k8s_hook.input.deployment import OutputRef, _output_ref


@pytest.mark.parametrize("text,ref", [
    ("Service/web:{.spec.clusterIP}", ("Service", None, "web")),
    ("ConfigMap/default/c:{.data.k}", ("ConfigMap", "default", "c")),
    ("ConfigMap/team1/c:{.data.k}", ("ConfigMap", "team1", "c")),
    ("Service/kube-system/dns:{.spec}", ("Service", "kube-system", "dns")),
    ("apps/Deployment/web:{.status}", ("apps/Deployment", None, "web")),
    ("apps/Deployment/prod/web:{.status}", ("apps/Deployment", "prod", "web")),
    ("networking.k8s.io/Ingress/default/web:{.status}",
     ("networking.k8s.io/Ingress", "default", "web")),
    ("example.com/Widget/w:{.x}", ("example.com/Widget", None, "w")),
])
def test_which_part_is_which(text, ref):
    parsed = _output_ref(text)
    assert isinstance(parsed, OutputRef)
    assert (parsed.kind, parsed.namespace, parsed.name) == ref


CM = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: default}\n"
      "data: {k: hello}\n")


def test_an_output_in_the_default_namespace_is_read():
    answer, _api = through_pipeline(deployment(CM, {"outputs": {
        "greeting": "ConfigMap/default/c:{.data.k}"}}))
    assert answer["deploy_status_code"] == 0, answer["deploy_stderr"]
    assert answer["greeting"] == "hello"
