"""One applier per application across a SoftwareDeploymentGroup's members.

Owns: `policy` (the pure rules of the Lease: holder identity, expiry, the recorded outcome,
the next move), `lease` (the Lease on the cluster, I/O), `coordinate` (around a run: acquire
and apply, follow and answer, or a late member's read-only check). May import: the base
modules, `input`, `config`, `kube`, `result`; not the engine (it is handed the work to run).
"""
