"""settings.py's survivors of the mutation run (docs/testing.md, "Mutation testing"): the
settings file's ownership, mode, size and errors, messages that list several names, and the
settings as `heat-k8s-hook settings` prints them."""
from __future__ import annotations

import errno
import os
import threading

import pytest

from heat_k8s_hook.config.settings import (
    MAX_FILE_BYTES,
    Settings,
    check_options,
    load_settings,
    parse_settings,
)
from heat_k8s_hook.errors import InvalidInput, Misconfigured
from heat_k8s_hook.input.deployment import Options


def write(path, text, mode: int = 0o600) -> str:
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    os.chmod(path, mode)
    return str(path)


def load(path: str) -> Settings:
    return load_settings({"HEAT_K8S_HOOK_CONFIG": path})


def refusal(path: str) -> str:
    with pytest.raises(Misconfigured) as err:
        load(path)
    return err.value.message


# -- printed as the file spells them -------------------------------------------------------------

def test_whole_numbers_print_as_integers_and_fractions_as_they_are():
    printed = Settings(max_timeout=3600.0, lease_duration=7.5).as_dict()
    assert printed["max_timeout"] == 3600 and isinstance(printed["max_timeout"], int)
    assert printed["lease_duration"] == 7.5
    assert parse_settings(printed) == Settings(max_timeout=3600.0, lease_duration=7.5)


# -- messages naming several things -------------------------------------------------------------

def test_unknown_settings_and_limits_are_listed_with_commas():
    with pytest.raises(Misconfigured) as err:
        parse_settings({"zeta": 1, "alpha": 2}, "/x.yaml")
    assert err.value.message.startswith("settings /x.yaml: unknown setting(s) alpha, zeta; "
                                        "known settings: default_kubeconfig, keystone, ")
    with pytest.raises(Misconfigured) as err:
        parse_settings({"limits": {"zz": 1, "aa": 2}}, "/x.yaml")
    message = err.value.message
    assert message.startswith("settings /x.yaml: limits: unknown limit(s) aa, zz; known limits: ")
    known = message.partition("known limits: ")[2].split(", ")
    assert len(known) > 1 and known == sorted(known)


def test_a_kubeconfig_outside_the_allowed_directories_names_each_of_them(tmp_path):
    settings = Settings(kubeconfig_dirs=("/etc/a/", "/etc/b/"), path="/x.yaml")
    with pytest.raises(InvalidInput) as err:
        check_options(Options(kubeconfig=str(tmp_path / "k")), settings)
    assert err.value.message == ("option kubeconfig: outside the directories the operator allows "
                                 "(/etc/a/, /etc/b/; kubeconfig_dirs in /x.yaml)")


def test_a_relative_kubeconfig_is_refused_with_its_message():
    with pytest.raises(InvalidInput) as err:
        check_options(Options(kubeconfig="k/config"), Settings())
    assert err.value.message == "option kubeconfig: expected an absolute path"


def test_the_root_directory_allows_any_kubeconfig(tmp_path):
    kubeconfig = tmp_path / "config"
    assert check_options(Options(kubeconfig=str(kubeconfig)),
                         Settings(kubeconfig_dirs=("/",))).kubeconfig == os.path.realpath(kubeconfig)


# -- the file: owner, mode, size, errors ---------------------------------------------------------

def test_a_file_owned_by_root_or_by_the_user_running_the_hook_is_read(tmp_path, monkeypatch):
    path = write(tmp_path / "hook.yaml", "max_timeout: 60\n")
    owner = {"uid": 0}
    real_fstat = os.fstat

    def fstat(fd):   # the owner the file would have after a chown (no root needed here)
        st = list(real_fstat(fd))
        st[4] = owner["uid"]
        return os.stat_result(st)
    monkeypatch.setattr(os, "fstat", fstat)
    monkeypatch.setattr(os, "getuid", lambda: 4242)   # the hook runs as uid 4242
    assert load(path).max_timeout == 60.0              # root's file
    owner["uid"] = 4242
    assert load(path).max_timeout == 60.0              # its own
    owner["uid"] = 4343
    assert refusal(path) == (f"settings {path}: owned by uid 4343, expected root or uid 4242 "
                             "(the user running the hook)")


def test_only_write_bits_for_group_or_others_are_refused(tmp_path):
    path = write(tmp_path / "hook.yaml", "max_timeout: 60\n", 0o645)   # r for g, r-x for o
    assert load(path).max_timeout == 60.0
    os.chmod(path, 0o620)
    assert refusal(path) == (f"settings {path}: writable by group or others (mode 0620); "
                             "chmod 600 it")


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    path = str(tmp_path / "hook.yaml")
    os.mkfifo(path, 0o600)
    outcome: list = []

    def read():
        try:
            load(path)
        except Misconfigured as exc:
            outcome.append(exc.message)
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(3)
    hung = reader.is_alive()
    if hung:   # blocked in open() until a writer comes: let it go, then fail
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(3)
    assert not hung, "load_settings waited for a writer on a FIFO"
    assert outcome == [f"settings {path}: not a regular file"]


def test_a_path_that_cannot_be_opened_says_why(tmp_path):
    plain = write(tmp_path / "plain", "x: 1\n")
    path = os.path.join(plain, "hook.yaml")            # under a file: ENOTDIR, not ENOENT
    assert refusal(path) == f"settings {path}: cannot be read ({os.strerror(errno.ENOTDIR)})"


def test_the_size_limit_is_exact(tmp_path):
    padding = "#" * (MAX_FILE_BYTES - len("max_timeout: 60\n") - 1) + "\n"
    exact = write(tmp_path / "exact.yaml", "max_timeout: 60\n" + padding)
    assert os.path.getsize(exact) == MAX_FILE_BYTES
    assert load(exact).max_timeout == 60.0
    over = write(tmp_path / "over.yaml", "max_timeout: 60\n#" + padding)
    assert os.path.getsize(over) == MAX_FILE_BYTES + 1
    assert refusal(over) == f"settings {over}: larger than {MAX_FILE_BYTES} bytes"


def test_invalid_yaml_names_its_line_and_column(tmp_path):
    path = write(tmp_path / "hook.yaml", "max_timeout: 5\nlimits: a: b\n")
    # the second line's ':' after "a" (column 10, counting from 1) is where it breaks
    assert refusal(path) == f"settings {path}: invalid YAML at line 2, column 10"


def test_a_file_that_is_not_utf8_has_no_position(tmp_path):
    path = write(tmp_path / "hook.yaml", b"max_timeout: \xff\n")
    assert refusal(path) == f"settings {path}: invalid YAML"
