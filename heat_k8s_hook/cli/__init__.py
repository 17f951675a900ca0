"""`heat-k8s-hook`, the operator CLI: `main` (arguments), `commands` (each subcommand on the
pipeline's plan and runner), `view` (the live progress view), `status` (`status --watch`).

The top of the layering: may import every package; nothing imports it.
"""
