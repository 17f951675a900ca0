"""The operator's settings: `hook.yaml` (`settings`) and its Keystone map (`keystone_settings`).

What templates may choose on this controller, and as whom the hook reaches the cluster.
Pure (a file read in, frozen dataclasses out). May import: the base modules and `input`.
"""
