"""Which deployment resource a delivery comes from (owner.py), on what Heat really sends."""
from __future__ import annotations

import pytest

from heat_k8s_hook.input.deployment import parse_deployment
from heat_k8s_hook.input.owner import owner

CFN = ("http://h:8000/v1/signal/arn%3Aopenstack%3Aheat%3A%3At%3Astacks/s/1/resources/dep"
       "?SignatureMethod=HmacSHA256&SignatureVersion=2&AWSAccessKeyId={key}"
       "&Timestamp={ts}&Signature={sig}")


def dep(**inputs):
    return parse_deployment({"id": "x", "name": "s-cfg-abcdefghijkl", "group": "kubectl",
                             "inputs": [{"name": k, "value": v} for k, v in inputs.items()]})


@pytest.mark.parametrize("same_resource, other_resource", [
    # HEAT_SIGNAL / ZAQAR_SIGNAL: the resource's own stack user, whatever the password
    ({"deploy_user_id": "u1", "deploy_password": "p1"},
     {"deploy_user_id": "u2", "deploy_password": "p1"}),
    # CFN_SIGNAL: signed anew per action; the access key is the resource's
    ({"deploy_signal_id": CFN.format(key="AK1", ts="2026-12-05T04:00:00Z", sig="a")},
     {"deploy_signal_id": CFN.format(key="AK2", ts="2026-12-05T04:00:00Z", sig="a")}),
    # NO_SIGNAL: the server alone
    ({"deploy_server_id": "srv-1"}, {"deploy_server_id": "srv-2"}),
])
def test_two_resources_differ_and_one_resource_stays_itself(same_resource, other_resource):
    base = {"deploy_server_id": "srv-1", **same_resource}
    again = dict(base)
    if "deploy_signal_id" in again:   # the next action of the same resource: re-signed
        again["deploy_signal_id"] = CFN.format(key="AK1", ts="2026-12-05T05:00:00Z", sig="b")
    assert owner(base) == owner(again) != ""
    assert owner(base) != owner({"deploy_server_id": "srv-1", **other_resource})


def test_deployment_owner_is_the_digest_and_never_a_secret():
    d = dep(deploy_server_id="srv", deploy_user_id="u1", deploy_password="Pa55word",
            deploy_signal_id=CFN.format(key="AK1", ts="t", sig="SECRETSIG"))
    assert d.owner == owner({"deploy_server_id": "srv", "deploy_user_id": "u1",
                             "deploy_signal_id": CFN.format(key="AK1", ts="u", sig="x")})
    assert len(d.owner) == 16 and "SECRET" not in d.owner
    assert dep().owner == ""   # a hand-run without deploy_* inputs: nothing known
