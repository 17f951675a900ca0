"""One deployment, start to end: render -> gather -> plan of steps -> run -> result.

Owns: `plan` (stages, order, membership, prune set: pure), `drift` (does a live object still
hold what we apply: pure), `steps` (the run as typed steps: pure), `runner` (gathers facts and
executes steps), `apply` (dry-run, server-side apply, prune, delete), `inventory` and
`inventory_client` (the ApplySet parent and its outcome record format: pure / I/O), `record`
(writes the outcome a fast re-delivery checks), `diff`, `observe` (read-only views),
`suspend` and `suspend_client`, `absence` (delete by absence: pure), and `pipeline` (errors
to codes in one place). May import every package below it: base, `input`, `config`, `kube`,
`readiness`, `result`, `ha`; never `entry` or `cli`.
"""
