"""The Kubernetes API as the hook uses it: credentials, requests, discovery, watches, retries.

Owns: `cluster` (the client on the `kubernetes` package's pool), `tinykube` (the fast path's
standard-library client), `keystone_auth` (a Keystone token as bearer), `retry` (which faults
are transient), `deadline` (the run's one cancellable deadline). May import: the base modules
and `config`; never the engine, readiness rules or results (it knows requests, not plans).
"""
