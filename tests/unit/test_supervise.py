"""The hook's supervising parent (supervise.py): real forked workers, no cluster.

A worker that dies without answering is run again with a note; one that answers is relayed;
the deadline and the number of restarts bound it all; SIGTERM to the hook stops it with an
answer. Broken on purpose once (`supervise` returning after the first death instead of forking
again): test_killed_worker_runs_again_with_a_note and the give-up test went red.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from tests_paths import HOOK

from heat_k8s_hook.entry import supervise
from heat_k8s_hook.ha.coordinate import pid_alive

KILLED = 9   # a waitpid status: killed by signal 9


def answering(code=0, die_first=0):
    """A worker's work: SIGKILL itself in the first `die_first` workers, then answer."""
    def work(out, notes):
        if len(notes) < die_first:
            os.kill(os.getpid(), signal.SIGKILL)
        out.write(json.dumps({"deploy_stdout": "", "deploy_stderr": "\n".join(notes),
                              "deploy_status_code": code, "pid": os.getpid()}) + "\n")
        return code
    return work


def test_an_answering_worker_is_relayed():
    ended = supervise.supervise(answering(code=6), time.monotonic(), 30)
    assert ended.result["deploy_status_code"] == 6
    assert ended.result["pid"] != os.getpid()   # the work ran in another process


def test_killed_worker_runs_again_with_a_note():
    ended = supervise.supervise(answering(die_first=2), time.monotonic(), 30)
    assert ended.result["deploy_status_code"] == 0
    notes = ended.result["deploy_stderr"].splitlines()
    assert len(notes) == 2 and all("killed by signal 9; running again (takeover of its Lease)"
                                   in n for n in notes), notes


def test_workers_killed_past_the_restarts_give_up_with_code_9():
    ended = supervise.supervise(answering(die_first=99), time.monotonic(), 30)
    assert ended.result is None and ended.code == 9
    assert f"{supervise.RESTARTS + 1} workers died without answering" in ended.message
    assert len(ended.lines) == supervise.RESTARTS


def test_no_new_worker_too_close_to_the_deadline():
    ended = supervise.supervise(answering(die_first=1), time.monotonic(), 2)
    assert ended.code == 7 and "not run again" in ended.message and not ended.lines


def test_a_frozen_worker_is_killed_and_answered_within_timeout_plus_5s():
    """The watchdog rule holds when the worker's own watchdog cannot run (SIGSTOP)."""
    t = time.monotonic()
    ended = supervise.supervise(lambda out, notes: os.kill(os.getpid(), signal.SIGSTOP) or 0,
                                t, 0.5)
    assert ended.code == 7 and "no answer in time" in ended.message
    assert 0.5 + supervise.GRACE <= time.monotonic() - t < 0.5 + 5


def test_a_half_written_answer_is_no_answer():
    assert supervise.answer_in(b'{"deploy_status_code": 0, "deploy_std') is None
    assert supervise.answer_in(b'{"deploy_status_code": 0}\n') == {"deploy_status_code": 0}
    assert supervise.answer_in(b"[1]\n") is None and supervise.answer_in(b"") is None


@pytest.mark.parametrize("status,stopped,deaths,left,expect", [
    (KILLED, 0, 1, 30.0, "running again"),
    (1 << 8, 0, 1, 30.0, "exited with code 1 without answering; running again"),
    (KILLED, 0, supervise.RESTARTS + 1, 30.0, "code 9"),
    (KILLED, 0, 1, 1.0, "code 7"),
    (None, 0, 1, 0.0, "code 7"),
    (15, signal.SIGTERM, 1, 30.0, "code 9"),
])
def test_after(status, stopped, deaths, left, expect):
    step = supervise.after(42, status, stopped, deaths, left, 60)
    assert expect in (step.note or f"code {step.code}")
    assert not (step.note and step.code)


def test_pid_alive():
    assert pid_alive(os.getpid())
    assert pid_alive(0) and pid_alive(1)   # never "gone" by mistake
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not pid_alive(child.pid)


def test_sigterm_to_the_hook_stops_its_worker_and_answers(tmp_path):
    """The real hook, its worker stuck on an API server that never answers: SIGTERM to the
    hook answers code 9 at once and leaves no worker behind."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)   # never accepts: the TLS handshake hangs
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {
            "server": f"https://127.0.0.1:{silent.getsockname()[1]}",
            "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": {"token": "t0ken-never-printed"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    kubeconfig.chmod(0o600)
    dep = {"config": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: d}\n",
           "options": {"timeout": 60},
           "inputs": [{"name": "deploy_action", "value": "CREATE"}]}
    proc = subprocess.Popen([sys.executable, str(HOOK)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, KUBECONFIG=str(kubeconfig),
                                     HEAT_K8S_HOOK_FAST_PATH="0"))
    proc.stdin.write(json.dumps(dep))
    proc.stdin.close()
    proc.stdin = None
    worker = _child_of(proc.pid)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10)
    result = json.loads(out)
    assert out.count("\n") == 1
    assert result["deploy_status_code"] == 9 == proc.returncode, err
    assert "stopped by SIGTERM" in result["deploy_stderr"]
    assert f"worker pid {worker} killed by signal 15" in result["deploy_stderr"]
    assert not pid_alive(worker)
    assert "t0ken-never-printed" not in out + err
    silent.close()


def _child_of(pid: int, wait: float = 10.0) -> int:
    end = time.monotonic() + wait
    while time.monotonic() < end:
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                children = f.read().split()
        except FileNotFoundError:
            children = []
        if children:
            return int(children[0])
        time.sleep(0.05)
    raise AssertionError(f"hook pid {pid} started no worker in {wait:.0f}s")
