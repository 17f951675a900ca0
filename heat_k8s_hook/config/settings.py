"""The operator's settings: what templates may choose on this controller.

One YAML file, `/etc/heat-k8s-hook/hook.yaml` (or $HEAT_K8S_HOOK_CONFIG), written by the
image element and tools/bootstrap-controller with the defaults below. A missing file means
those defaults. The file must be a regular file owned by root (or the user running the hook)
and not writable by group or others: whoever can write it decides what templates may reach.
"""
from __future__ import annotations

import dataclasses
import os
import stat
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from heat_k8s_hook.config.keystone_settings import KEYSTONE, KeystoneSettings
from heat_k8s_hook.errors import InvalidInput, Misconfigured
from heat_k8s_hook.input.deployment import DEFAULT_TIMEOUT
from heat_k8s_hook.input.limits import Limits
from heat_k8s_hook.names import DEFAULT_KUBECONFIG
from heat_k8s_hook.names import SETTINGS_ENV as ENV_VAR  # noqa: N811
from heat_k8s_hook.names import SETTINGS_PATH as DEFAULT_PATH  # noqa: N811
from heat_k8s_hook.schema import Invalid, Record, Where, check, fields_of, list_of, number

DEFAULT_LEASE_SECONDS = 15   # a dead applier's Lease lapses after this (ha/policy.py)

DEFAULT_KUBECONFIG_DIRS = ("/etc/heat-k8s-hook/",)
DEFAULT_MAX_TIMEOUT = 3600.0
MAX_FILE_BYTES = 64 * 1024


@dataclass(frozen=True)
class Settings:
    kubeconfig_dirs: tuple = DEFAULT_KUBECONFIG_DIRS
    default_kubeconfig: str = DEFAULT_KUBECONFIG
    max_timeout: float = DEFAULT_MAX_TIMEOUT
    limits: Limits = Limits()
    keystone: Optional[KeystoneSettings] = None  # Keystone mode (keystone_settings.py)
    lease_duration: float = DEFAULT_LEASE_SECONDS  # seconds before a dead applier's Lease lapses
    path: str = DEFAULT_PATH   # where they were (or would have been) read from

    def as_dict(self) -> dict:
        """The settings as the file spells them (for `heat-k8s-hook settings`)."""
        out = {"kubeconfig_dirs": list(self.kubeconfig_dirs),
               "default_kubeconfig": self.default_kubeconfig,
               "max_timeout": _number(self.max_timeout),
               "limits": dataclasses.asdict(self.limits),
               "lease_duration": _number(self.lease_duration)}
        if self.keystone:
            out["keystone"] = self.keystone.as_dict()
        return out


def _number(value: float) -> Any:
    return int(value) if float(value).is_integer() else value


# --- parsing (pure) -----------------------------------------------------------------------------

def _absolute(value: Any) -> str:
    if not isinstance(value, str) or not os.path.isabs(value):
        raise Invalid("expected an absolute path")
    return value


_positive = number(0, above=True)

# hook.yaml, declared (schema.py): names and defaults from the dataclasses, checks here. A
# setting given as null is refused (an empty `keystone:` must not silently mean "off").
LIMITS = Record(fields_of(Limits, {f.name: number(0, above=True, whole=True)
                                   for f in dataclasses.fields(Limits)}),
                what="a map of limit name to number", noun="limit", null_is_absent=False)
SETTINGS = Record(fields_of(Settings, {
    "kubeconfig_dirs": list_of(_absolute, "a list of absolute directory paths", empty=False),
    "default_kubeconfig": _absolute,
    "max_timeout": _positive,
    "limits": lambda raw: Limits(**LIMITS(raw)),
    "keystone": lambda raw: KeystoneSettings(**KEYSTONE(raw)),
    "lease_duration": _positive,
}), what="a map of settings", noun="setting", null_is_absent=False)


def parse_settings(raw: Any, path: str = DEFAULT_PATH) -> Settings:
    """Validate the decoded file; every error names the file and the setting."""
    if raw is None:
        return Settings(path=path)
    where = Where(f"settings {path}", f"settings {path}: ")
    return Settings(path=path, **check(SETTINGS, raw, where, Misconfigured))


# --- the file (I/O) -----------------------------------------------------------------------------

def settings_path(environ: Mapping[str, str] = os.environ) -> str:
    return environ.get(ENV_VAR) or DEFAULT_PATH


def _check_file(path: str, st: os.stat_result, uid: int) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise Misconfigured(f"settings {path}: not a regular file")
    if st.st_uid not in (0, uid):
        raise Misconfigured(f"settings {path}: owned by uid {st.st_uid}, expected root "
                            f"or uid {uid} (the user running the hook)")
    if st.st_mode & 0o022:
        raise Misconfigured(f"settings {path}: writable by group or others (mode "
                            f"{stat.S_IMODE(st.st_mode):04o}); chmod 600 it")


def load_settings(environ: Mapping[str, str] = os.environ) -> Settings:
    """The operator's settings file, checked and validated; the defaults when it is missing."""
    import yaml

    path = settings_path(environ)
    try:
        # O_NONBLOCK: a FIFO put there must not hang the hook (regular files ignore it)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return Settings(path=path)
    except OSError as exc:
        raise Misconfigured(f"settings {path}: cannot be read ({exc.strerror})") from None
    try:
        _check_file(path, os.fstat(fd), os.getuid())  # the file opened is the file checked
        data = os.read(fd, MAX_FILE_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        raise Misconfigured(f"settings {path}: larger than {MAX_FILE_BYTES} bytes")
    try:
        raw = yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise Misconfigured(f"settings {path}: invalid YAML{where}") from None
    return parse_settings(raw, path)


# --- what a template may choose -------------------------------------------------------------------

def inside(path: str, directories: tuple) -> bool:
    """Whether `path`, with symlinks and `..` resolved, lies inside one of `directories`."""
    real = os.path.realpath(path)
    for directory in directories:
        top = os.path.realpath(directory)
        if real.startswith(top.rstrip(os.sep) + os.sep):
            return True
    return False


def check_options(options: Any, settings: Settings, kubeconfig_override: Optional[str] = None):
    """Options within the operator's limits (code 2 naming the option otherwise).

    Returns the options with `kubeconfig` resolved to its real path, so the file checked is the
    file loaded. `kubeconfig_override` is the operator's own choice (CLI --kubeconfig): not
    limited to kubeconfig_dirs.
    """
    if options.timeout == DEFAULT_TIMEOUT and settings.max_timeout < DEFAULT_TIMEOUT:
        # no timeout chosen (or the default's value): the operator's maximum caps the default
        options = dataclasses.replace(options, timeout=settings.max_timeout)
    if options.timeout > settings.max_timeout:
        raise InvalidInput(f"option timeout: above the maximum of {settings.max_timeout:g}s "
                           f"(max_timeout in {settings.path})")
    if kubeconfig_override:
        return dataclasses.replace(options, kubeconfig=os.path.realpath(kubeconfig_override))
    if options.kubeconfig is None:
        return options
    if not os.path.isabs(options.kubeconfig):
        raise InvalidInput("option kubeconfig: expected an absolute path")
    if not inside(options.kubeconfig, settings.kubeconfig_dirs):
        raise InvalidInput(f"option kubeconfig: outside the directories the operator allows "
                           f"({', '.join(settings.kubeconfig_dirs)}; kubeconfig_dirs in "
                           f"{settings.path})")
    return dataclasses.replace(options, kubeconfig=os.path.realpath(options.kubeconfig))
