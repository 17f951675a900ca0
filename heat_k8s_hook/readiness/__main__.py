"""`python -m heat_k8s_hook.readiness FILE`: offline verdicts for a dump of objects."""
import sys

from heat_k8s_hook.readiness.offline import main

sys.exit(main())
