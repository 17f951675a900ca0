"""bench/heat's pure parts: the agent-log breakdown and the stacks it creates (no Heat here).

Breaking it on purpose (done once each, both went red): ending a notify span at its [INFO]
line, before the notify's own timestamped output, loses the signal's round trip and the span
test fails; dropping `depends_on` from the ten-deployment stack fails the ordering test.
"""
import sys

import yaml
from tests_paths import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import heatlog  # noqa: E402
import heatstacks  # noqa: E402

CFG = "3d92972c-c84f-4e5b-a19b-a027baa22a4f"
LOG = f"""\
[2026-12-01 14:19:47,702] (heat-config) [DEBUG] Running /r/hooks/kubectl < /r/deployed/{CFG}.json
[2026-12-01 14:19:50,913] (heat-config) [INFO] !!binary |
  eyJkZXBsb3lfc3Rkb3V0Ijo=
[2026-12-01 14:19:50,913] (heat-config) [INFO] Completed /r/hooks/kubectl
[2026-12-01 14:19:50,914] (heat-config) [DEBUG] Running /v/heat-config-notify /r/deployed/{CFG}.json
[2026-12-01 14:20:01,086] (heat-config) [INFO] b''
[2026-12-01 14:20:01,086] (heat-config) [DEBUG] b'[2026-12-01 14:19:55,442] (heat-config-notify) \
[DEBUG] Signalling to http://h/v1/x\\n[2026-12-01 14:20:00,946] (heat-config-notify) \
[DEBUG] Response None \\n'
[2026-12-01 14:20:36,357] (heat-config) [WARNING] Skipping config other, already deployed
"""


def test_agent_log_spans_of_one_deployment():
    spans = heatlog.agent_spans(LOG, {CFG})
    s = spans[CFG]
    assert round(s["hook_end"] - s["hook_start"], 3) == 3.211
    assert round(s["notify_end"] - s["notify_start"], 3) == 10.172
    assert round(s["signal_answered"] - s["signal_sent"], 3) == 5.504


def test_split_accounts_for_the_whole_wall_time():
    s = heatlog.agent_spans(LOG, {CFG})[CFG]
    t0 = s["hook_start"] - 20.0
    totals = heatlog.split(t0, s["notify_end"] + 1.5, t0 + 8.0, {CFG: s})
    assert totals["heat_before"] == 8.0 and totals["heat_after"] == 1.5
    assert totals["polling"] == 12.0  # in progress at +8 s, the agent ran the hook at +20 s
    parts = ("heat_before", "polling", "hook", "notify", "heat_after")
    assert round(sum(totals[k] for k in parts), 2) == totals["wall"]


def test_ten_deployments_some_ordered_and_both_hooks_see_the_same_objects():
    text, params = heatstacks.template("ten", "kubectl", "srv", "ns", "/bin/kubectl")
    res = yaml.safe_load(text)["resources"]
    deps = [n for n, r in res.items() if r["type"] == "OS::Heat::SoftwareDeployment"]
    assert len(deps) == 10 and params == {"server": "srv"}
    assert {n: r["depends_on"] for n, r in res.items() if "depends_on" in r} == \
        {k: [v] for k, v in heatstacks.TEN_DEPENDS.items()}
    script = yaml.safe_load(heatstacks.template("ten", "script", "srv", "ns", "/bin/kubectl")[0])
    hook_objs = list(yaml.safe_load_all(res["app3_config"]["properties"]["config"]))
    body = script["resources"]["app3_config"]["properties"]["config"]
    manifest = body.split("<<'MANIFESTS'\n")[1].split("MANIFESTS\n")[0]
    assert list(yaml.safe_load_all(manifest)) == hook_objs
    assert "apply --server-side" in body and "rollout status deployment/web -n ns-3" in body
