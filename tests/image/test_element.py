"""The diskimage-builder element, proven in a real image.

tools/build-image builds a Debian tar image with diskimage-builder (debian-minimal, heat-agents'
heat-config, tripleo-image-elements' os-*-config, elements/heat-config-kubectl and the CI-only
ci-build-host), then extracts it, chroots in and runs heat-config's own 55-heat-config on a
`group: kubectl` deployment whose cluster (https://127.0.0.1:1) is unreachable. These tests assert
on the report it writes. A component that cannot be installed or built fails with its cause:
nothing here skips.
"""
import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD_IMAGE = ROOT / "tools" / "build-image"
TIMEOUT = int(os.environ.get("HEAT_K8S_HOOK_IMAGE_TIMEOUT", "2400"))


def _run(step: str) -> str:
    try:
        proc = subprocess.run([str(BUILD_IMAGE), step], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"tools/build-image {step} took more than {TIMEOUT}s", pytrace=False)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-40:])
        pytest.fail(f"tools/build-image {step} failed (exit {proc.returncode}):\n{tail}",
                    pytrace=False)
    return proc.stdout


@pytest.fixture(scope="module")
def report() -> dict:
    _run("build")
    out = _run("check")
    start = out.find("{")
    if start < 0:
        pytest.fail(f"tools/build-image check printed no report:\n{out[-2000:]}", pytrace=False)
    return json.loads(out[start:])


def test_image_is_built(report):
    assert os.path.isfile(report["image"])
    assert report["image_bytes"] > 50 * 1024 * 1024, "a Debian image with Python is > 50 MiB"


def test_hook_is_an_executable_using_the_venv(report):
    assert report["hook_mode"] is not None, "no /var/lib/heat-config/hooks/kubectl in the image"
    assert int(report["hook_mode"], 8) & 0o111 == 0o111, report["hook_mode"]
    assert report["hook_shebang"] == "#!/opt/heat-k8s-hook/venv/bin/python3"
    assert report["venv_python"]
    assert report["venv_has_package"], "heat_k8s_hook is not in the venv's site-packages"
    assert not report["system_has_package"], "heat_k8s_hook leaked into the system Python"


def test_config_dir_and_kubeconfig_are_private(report):
    assert report["conf_dir_mode"] == "0o700"
    assert report["kubeconfig_mode"] == "0o600"


def test_operator_settings_are_written_private_with_the_defaults(report):
    import yaml

    from heat_k8s_hook.config.settings import Settings, parse_settings
    assert report["settings_mode"] == "0o600" and report["settings_uid"] == 0
    written = parse_settings(yaml.safe_load(report["settings_text"] or ""))
    assert report["settings_text"] and written == Settings()


def test_build_host_settings_are_not_in_the_image(report):
    # ci-build-host hands the host's CA bundle, pip index and apt settings to the build only.
    assert report["build_host_leftovers"] == []


def test_heat_config_ran_our_hook(report):
    assert report["heat_config_rc"] == 0, report["heat_config_stderr_tail"]
    stderr = report["heat_config_stderr_tail"] or ""
    assert "with no hook script" not in stderr, stderr
    assert report["notify_raw"] is not None, (
        f"55-heat-config wrote no {report['notify_path']}:\n{stderr}")


def test_notify_json_is_a_failure_result_naming_the_unreachable_cluster(report):
    notify = report["notify"]
    assert isinstance(notify, dict), f"not a JSON object: {report['notify_raw']!r}"
    assert {"deploy_stdout", "deploy_stderr", "deploy_status_code"} <= set(notify), notify
    assert isinstance(notify["deploy_status_code"], int)
    assert notify["deploy_status_code"] != 0, notify
    cause = notify["deploy_stderr"].strip()
    assert cause, notify
    # The hook wrote this result itself: 55-heat-config's own fallback on a crash or
    # non-JSON stdout would carry a traceback here.
    assert "Traceback" not in notify["deploy_stderr"], notify["deploy_stderr"]
    assert len(cause.splitlines()) == 1, f"the cause is not one line: {cause!r}"
    assert any(w in cause.lower() for w in ("reach", "connect", "refused")), cause
    assert "127.0.0.1:1" in cause or "unreachable" in cause.lower(), cause


def test_delete_by_absence_runs_before_55_heat_config(report):
    """Issue 23: the element's os-refresh-config script sits beside 55-heat-config (configure.d
    runs in name order: 50 first) and runs the package's delete by absence; run in the image
    once the deployment left the metadata, it tried the DELETE (the cluster is unreachable),
    said so with the deployment's identity and code, and printed no credential."""
    assert report["absent_script"].endswith("configure.d/50-heat-config-kubectl")
    assert report["absent_script_mode"] and int(report["absent_script_mode"], 8) & 0o111
    assert "heat-k8s-hook-absent" in (report["absent_script_text"] or "")
    assert report["absent_rc"] == 0, report["absent_stderr_tail"]
    log = report["absent_stderr_tail"] or ""
    assert "image-check/0/" in log and "DELETE answered" in log, log
    assert "DELETE answered 0" not in log, log   # the cluster cannot be reached
