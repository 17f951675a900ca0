"""The Kubernetes API as the hook uses it: credentials, requests, discovery, watches, retries.

Owns: `kubeconfig` (the one config type, `Endpoint`, and its one reader), `transport` (the one
transport interface, API error answers, urllib3's pool), `tinykube` (the standard-library
transport, the fast path's client), `cluster` (credentials, requests, discovery, watches),
`keystone_auth` (a Keystone token as bearer), `retry` (which faults
are transient), `deadline` (the run's one cancellable deadline). May import: the base modules
and `config`; never the engine, readiness rules or results (it knows requests, not plans).
"""
