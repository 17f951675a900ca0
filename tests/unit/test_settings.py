"""The operator's settings file and what it lets a template choose (heat_k8s_hook/config/settings.py).

Checked by breaking each rule once: with `inside` returning True, the `..` and symlink tests
went red; with the mode check in `_check_file` removed, the group-writable test went red; with
the 0o077 test in `cluster.check_private` removed, the group-readable kubeconfig test went red;
with the max_timeout comparison removed, the timeout test went red.
"""
from __future__ import annotations

import io
import os
from contextlib import redirect_stdout

import pytest

from heat_k8s_hook.cli import main as cli
from heat_k8s_hook.config.settings import (
    DEFAULT_MAX_TIMEOUT,
    Settings,
    _check_file,
    check_options,
    load_settings,
    parse_settings,
)
from heat_k8s_hook.errors import CredentialsRejected, InvalidInput, Misconfigured
from heat_k8s_hook.input.deployment import Options
from heat_k8s_hook.input.limits import Limits
from heat_k8s_hook.kube.cluster import KubeconfigCredentials, check_private, resolve_credentials
from heat_k8s_hook.names import DEFAULT_KUBECONFIG


def write(path, text: str, mode: int = 0o600) -> str:
    path.write_text(text)
    os.chmod(path, mode)
    return str(path)


# --- parsing --------------------------------------------------------------------------------------

def test_no_file_content_means_the_defaults():
    s = parse_settings(None, "/x/hook.yaml")
    assert s.kubeconfig_dirs == ("/etc/heat-k8s-hook/",)
    assert s.default_kubeconfig == DEFAULT_KUBECONFIG and s.max_timeout == DEFAULT_MAX_TIMEOUT
    assert s.limits == Limits() and s.path == "/x/hook.yaml"


def test_every_setting():
    s = parse_settings({"kubeconfig_dirs": ["/srv/k/", "/etc/k"], "default_kubeconfig": "/srv/k/a",
                        "max_timeout": 120, "limits": {"max_documents": 5000}})
    assert s.kubeconfig_dirs == ("/srv/k/", "/etc/k") and s.default_kubeconfig == "/srv/k/a"
    assert s.max_timeout == 120.0
    assert s.limits == Limits(max_documents=5000)   # the others keep their defaults


@pytest.mark.parametrize("raw, cause", [
    ([1, 2], "expected a map of settings"),
    ({"max_timout": 5}, "unknown setting(s) max_timout; known settings: default_kubeconfig, "),
    ({"kubeconfig_dirs": "/etc/k"}, "kubeconfig_dirs: expected a list"),
    ({"kubeconfig_dirs": []}, "kubeconfig_dirs: expected a list"),
    ({"kubeconfig_dirs": ["relative/dir"]}, "kubeconfig_dirs item 1: expected an absolute path"),
    ({"default_kubeconfig": 7}, "default_kubeconfig: expected an absolute path"),
    ({"max_timeout": ".inf"}, "max_timeout: expected a number greater than 0"),
    ({"max_timeout": float("inf")}, "max_timeout: expected a number greater than 0"),
    ({"max_timeout": 0}, "max_timeout: expected a number greater than 0"),
    ({"max_timeout": True}, "max_timeout: expected a number greater than 0"),
    ({"limits": [1]}, "limits: expected a map"),
    ({"limits": {"max_docs": 1}}, "limits: unknown limit(s) max_docs; known limits: max_aliases"),
    ({"limits": {"max_depth": 2.5}}, "limits.max_depth: expected a whole number"),
    ({"limits": {"max_depth": -1}}, "limits.max_depth: expected a number greater than 0"),
])
def test_bad_settings_are_refused_naming_the_file_and_setting(raw, cause):
    with pytest.raises(Misconfigured) as err:
        parse_settings(raw, "/etc/heat-k8s-hook/hook.yaml")
    assert err.value.code == 9
    assert err.value.message.startswith("settings /etc/heat-k8s-hook/hook.yaml: ")
    assert cause in err.value.message


# --- the file ---------------------------------------------------------------------------------------

def test_missing_file_means_the_defaults(tmp_path):
    path = str(tmp_path / "absent.yaml")
    assert load_settings({"HEAT_K8S_HOOK_CONFIG": path}) == Settings(path=path)


def test_file_is_read(tmp_path):
    path = write(tmp_path / "hook.yaml", "max_timeout: 60\nlimits: {max_depth: 10}\n")
    s = load_settings({"HEAT_K8S_HOOK_CONFIG": path})
    assert s.max_timeout == 60.0 and s.limits.max_depth == 10 and s.path == path


@pytest.mark.parametrize("mode", [0o620, 0o602, 0o666])
def test_file_writable_by_group_or_others_is_refused(tmp_path, mode):
    path = write(tmp_path / "hook.yaml", "max_timeout: 60\n", mode)
    with pytest.raises(Misconfigured, match=r"writable by group or others \(mode 0\d+\); chmod 600"):
        load_settings({"HEAT_K8S_HOOK_CONFIG": path})


def test_file_readable_by_others_is_fine(tmp_path):
    path = write(tmp_path / "hook.yaml", "max_timeout: 60\n", 0o644)  # no secrets in it
    assert load_settings({"HEAT_K8S_HOOK_CONFIG": path}).max_timeout == 60.0


def test_file_owned_by_someone_else_is_refused(tmp_path):
    st = os.stat(write(tmp_path / "hook.yaml", ""))
    fake = os.stat_result((st.st_mode, 0, 0, 1, 4242, 0, 0, 0, 0, 0))
    with pytest.raises(Misconfigured, match="owned by uid 4242, expected root"):
        _check_file("hook.yaml", fake, uid=1000)
    _check_file("hook.yaml", fake, uid=4242)    # the user running the hook may own it


def test_directory_is_refused(tmp_path):
    (tmp_path / "d").mkdir(mode=0o700)
    with pytest.raises(Misconfigured, match="not a regular file"):
        load_settings({"HEAT_K8S_HOOK_CONFIG": str(tmp_path / "d")})


def test_invalid_yaml_gives_line_and_column_only(tmp_path):
    path = write(tmp_path / "hook.yaml", "max_timeout: 60\nlimits: {max_depth: [SECRETTOKEN\n")
    with pytest.raises(Misconfigured) as err:
        load_settings({"HEAT_K8S_HOOK_CONFIG": path})
    assert "invalid YAML at line" in err.value.message and "SECRETTOKEN" not in err.value.message


def test_defaults_printed_for_the_installers_load_back(tmp_path, monkeypatch):
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.main(["settings", "--defaults", "--prefix", str(tmp_path)]) == 0
    path = write(tmp_path / "hook.yaml", out.getvalue())
    s = load_settings({"HEAT_K8S_HOOK_CONFIG": path})
    assert s.kubeconfig_dirs == (f"{tmp_path}/etc/heat-k8s-hook/",)
    assert s.default_kubeconfig == f"{tmp_path}/etc/heat-k8s-hook/kubeconfig"
    assert s.max_timeout == DEFAULT_MAX_TIMEOUT and s.limits == Limits()


def test_cli_settings_reports_a_bad_file_with_code_9(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HEAT_K8S_HOOK_CONFIG", write(tmp_path / "hook.yaml", "x: 1\n"))
    assert cli.main(["settings"]) == 9
    assert "unknown setting(s) x" in capsys.readouterr().err


# --- template options within the settings ---------------------------------------------------------------

@pytest.fixture
def allowed(tmp_path):
    top = tmp_path / "etc"
    top.mkdir()
    write(top / "kubeconfig", "{}")
    write(tmp_path / "admin.conf", "{}")
    return Settings(kubeconfig_dirs=(str(top) + "/",), max_timeout=900, path="/s/hook.yaml")


def test_kubeconfig_inside_the_allowed_directory(allowed, tmp_path):
    opts = check_options(Options(kubeconfig=f"{tmp_path}/etc/./kubeconfig"), allowed)
    assert opts.kubeconfig == f"{tmp_path}/etc/kubeconfig"


@pytest.mark.parametrize("path", ["{t}/admin.conf", "{t}/etc/../admin.conf", "/etc/shadow",
                                  "{t}/etcx/kubeconfig"])
def test_kubeconfig_outside_the_allowed_directory(allowed, tmp_path, path):
    with pytest.raises(InvalidInput) as err:
        check_options(Options(kubeconfig=path.format(t=tmp_path)), allowed)
    assert err.value.code == 2
    assert err.value.message.startswith("option kubeconfig: outside the directories")
    assert "kubeconfig_dirs in /s/hook.yaml" in err.value.message
    assert "admin.conf" not in err.value.message and "shadow" not in err.value.message


def test_symlink_escaping_the_allowed_directory(allowed, tmp_path):
    os.symlink(tmp_path / "admin.conf", tmp_path / "etc" / "innocent")
    with pytest.raises(InvalidInput, match="option kubeconfig: outside"):
        check_options(Options(kubeconfig=f"{tmp_path}/etc/innocent"), allowed)


def test_relative_kubeconfig_is_refused(allowed):
    with pytest.raises(InvalidInput, match="option kubeconfig: expected an absolute path"):
        check_options(Options(kubeconfig="kubeconfig"), allowed)


def test_operator_override_is_not_limited_to_the_directories(allowed, tmp_path):
    opts = check_options(Options(kubeconfig="/etc/shadow"), allowed,
                         kubeconfig_override=str(tmp_path / "admin.conf"))
    assert opts.kubeconfig == str(tmp_path / "admin.conf")


def test_default_timeout_is_capped_by_a_lower_maximum():
    low = Settings(max_timeout=120)
    assert check_options(Options(), low).timeout == 120     # no timeout given: 600 capped
    assert check_options(Options(timeout=60), low).timeout == 60
    assert check_options(Options(), Settings()).timeout == 600


def test_timeout_above_the_maximum(allowed):
    assert check_options(Options(timeout=900), allowed).timeout == 900
    for timeout in (901, float("inf")):
        with pytest.raises(InvalidInput) as err:
            check_options(Options(timeout=timeout), allowed)
        assert err.value.message == "option timeout: above the maximum of 900s " \
                                    "(max_timeout in /s/hook.yaml)"


# --- the kubeconfig file itself ---------------------------------------------------------------------------

@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_kubeconfig_open_to_group_or_others_is_refused(tmp_path, mode):
    path = write(tmp_path / "kubeconfig", "{}", mode)
    with pytest.raises(Misconfigured) as err:
        KubeconfigCredentials(path).configuration()
    assert err.value.code == 9
    assert f"mode {mode:04o}); chmod 600 it" in err.value.message


def test_private_kubeconfig_passes_and_missing_is_code_4(tmp_path):
    check_private(write(tmp_path / "kubeconfig", "{}", 0o600))
    check_private(write(tmp_path / "ro", "{}", 0o400))
    with pytest.raises(CredentialsRejected, match="does not exist"):
        check_private(str(tmp_path / "absent"))


def test_default_kubeconfig_comes_from_the_settings(tmp_path):
    path = write(tmp_path / "kc", "{}")
    creds = resolve_credentials(None, None, environ={}, default_kubeconfig=path)
    assert isinstance(creds, KubeconfigCredentials) and creds.path == path
    env = resolve_credentials(None, None, environ={"KUBECONFIG": "/k"}, default_kubeconfig=path)
    assert env.path == "/k"   # $KUBECONFIG (the operator's environment) comes first

