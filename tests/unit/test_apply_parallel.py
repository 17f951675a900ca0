"""How many requests the hook keeps in flight at once (apply.WORKERS), counted at the API
server through pipeline.execute: an apply's latency is mostly the server waiting (storage,
admission), so a stage of many objects is sent 32 at a time, as the ideal client of bench/run
does (issue 27, part 3; with 16, a N=500 apply phase took 2.96 s against 2.32 s)."""
from __future__ import annotations

import threading
import time

from fakeapi import FakeApiServer
from wiring import deployment, through_pipeline

from heat_k8s_hook.engine import apply


class SlowServer(FakeApiServer):
    """Holds every PATCH a little, outside the fake's lock, and counts those in flight."""

    def __init__(self):
        super().__init__()
        self.gauge = threading.Lock()
        self.now = self.most = 0

    def request_full(self, method, path, *args, **kwargs):
        if method != "PATCH":
            return super().request_full(method, path, *args, **kwargs)
        with self.gauge:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            time.sleep(0.02)
            return super().request_full(method, path, *args, **kwargs)
        finally:
            with self.gauge:
                self.now -= 1


def config(n: int) -> str:
    return "".join(f"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\n"
                   f"data: {{k: v}}\n" for i in range(n))


def test_a_stage_of_many_objects_is_sent_32_at_a_time():
    api = SlowServer()
    answer, api = through_pipeline(deployment(config(80), {"wait": False}), api)
    assert answer["deploy_status_code"] == 0, answer["deploy_stderr"]
    assert answer["deploy_stdout"].count(" created") == 80
    assert api.most == apply.WORKERS == 32
