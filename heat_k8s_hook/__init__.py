"""heat-k8s-hook: the heat-config hook for `group: kubectl` and its operator CLI."""

__version__ = "0.1.0"
