"""What a run tells the world: typed `events`, and the heat-config result (`report`: the
change set, outputs read by JSONPath, masking of every secret, truncation).

Pure. May import: the base modules and `readiness` (verdicts are part of what is told).
"""
