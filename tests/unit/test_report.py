"""The result JSON: masking, truncation, outputs."""
import json

import pytest

from heat_k8s_hook.errors import InvalidInput
from heat_k8s_hook.report import Masker, Result, read_output, secret_values, truncate


def test_result_shape_and_no_error_output_key():
    r = Result(0, ["Service/default/web created"], ["done"], {"ip": "10.0.0.1", "error_output": "x"})
    d = r.as_dict()
    assert d == {"deploy_stdout": "Service/default/web created\n", "deploy_stderr": "done\n",
                 "deploy_status_code": 0, "ip": "10.0.0.1"}


def test_masking_secret_values_everywhere():
    secret = {"kind": "Secret", "stringData": {"pw": "hunter22"}, "data": {"t": "dG9wc2VjcmV0"}}
    m = Masker(secret_values(secret))
    r = Result(5, ["x hunter22"], ["token topsecret and dG9wc2VjcmV0"], {"o": "hunter22"})
    text = json.dumps(r.as_dict(m))
    for s in ("hunter22", "topsecret", "dG9wc2VjcmV0", "aHVudGVyMjI="):
        assert s not in text


def test_truncation_keeps_head_and_tail_under_limit():
    text = "HEAD" + "x" * 1_000_000 + "TAIL"
    out = truncate(text, 10_000)
    assert out.startswith("HEAD") and out.endswith("TAIL") and "[truncated" in out
    assert len(out.encode()) < 10_100
    r = Result(1, [text], [text])
    assert len(json.dumps(r.as_dict())) < 950_000


@pytest.mark.parametrize("path,expected", [
    ("{.spec.clusterIP}", "10.96.0.10"),
    ("{.spec.ports[0].port}", 80),
    ("{.spec.ports[*].port}", [80, 443]),
    ("{.status.nothing}", None),
])
def test_read_output(path, expected):
    svc = {"kind": "Service", "spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 80}, {"port": 443}]},
           "status": {}}
    assert read_output("o", path, svc) == expected


def test_outputs_never_read_secret_data():
    with pytest.raises(InvalidInput):
        read_output("o", "{.data.password}", {"kind": "Secret", "data": {"password": "eA=="}})
    with pytest.raises(InvalidInput):
        read_output("o", ".spec", {"kind": "Service"})
