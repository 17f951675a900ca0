"""One error hierarchy; each class carries the documented `deploy_status_code` it maps to.

Messages are single lines written for the operator reading `openstack software deployment
show`; they never contain credentials, input values or Secret data.
"""
from __future__ import annotations


class HookError(Exception):
    """Base of every error the hook reports; `code` is the deploy_status_code."""

    code = 70  # internal error (EX_SOFTWARE): a bug, never an expected condition
    phase = ""  # the step of the run that failed (set by the runner): dry-run, apply, wait, ...

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))

    @property
    def message(self) -> str:
        return str(self)

    def in_phase(self) -> str:
        """The message with the phase that failed, e.g. `... [phase: dry-run]`."""
        return f"{self.message} [phase: {self.phase}]" if self.phase else self.message


class InvalidInput(HookError):
    """The deployment itself is wrong: JSON, YAML, option, input, unknown kind."""

    code = 2


class ClusterUnreachable(HookError):
    """No answer from the API server (DNS, refused connection, TLS, timeout)."""

    code = 3


class CredentialsRejected(HookError):
    """The API server answered 401, or no usable credentials were found."""

    code = 4


class ApplyRejected(HookError):
    """The API server refused an object: validation, conflict, RBAC forbidden, quota."""

    code = 5


class NotReady(HookError):
    """An applied object failed (image pull, crash loop, failed Job, ...)."""

    code = 6


class TimedOut(HookError):
    """The deployment's deadline passed before every object was ready (or gone)."""

    code = 7


class Busy(HookError):
    """Another controller holds this deployment's lock (reserved for HA controllers)."""

    code = 8


class Misconfigured(HookError):
    """The controller's operator set it up wrongly: settings file, kubeconfig permissions."""

    code = 9


class KeystoneRefused(HookError):
    """Keystone refused to authenticate the run's identity: a wrong password, a disabled or
    deleted user, an expired or deleted application credential (Keystone does not say which)."""

    code = 10


class KeystoneUnreachable(HookError):
    """No usable answer from Keystone: refused connection, DNS, TLS, timeout, a 5xx."""

    code = 11


class TokenExpired(HookError):
    """The run's Keystone token expired or was revoked mid-run and Keystone refused a new one."""

    code = 12


EXIT_CODES = {
    0: "success",
    InvalidInput.code: "invalid deployment (JSON, YAML, option, input, unknown kind)",
    ClusterUnreachable.code: "Kubernetes API server unreachable",
    CredentialsRejected.code: "credentials missing or rejected",
    ApplyRejected.code: "the API server rejected an object (validation, conflict, forbidden)",
    NotReady.code: "an object failed to become ready",
    TimedOut.code: "timed out waiting for objects",
    Busy.code: "deployment locked by another controller",
    Misconfigured.code: "controller misconfigured by its operator (settings file, kubeconfig)",
    KeystoneRefused.code: "Keystone refused the credentials (password, user, application "
                          "credential)",
    KeystoneUnreachable.code: "Keystone unreachable",
    TokenExpired.code: "the Keystone token expired mid-run and could not be renewed",
    HookError.code: "internal error (a bug: please report it)",
}
