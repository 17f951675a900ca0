"""What Heat delivers, read: the deployment JSON, its options and inputs, the rendered objects.

Owns: `deployment` (the heat-config deployment, typed inputs, validated options, identity and
generation), `render` (config -> Kubernetes objects, `get_input`), `yamldialect` (the one YAML
dialect), `strictjson`, `limits` (what one hostile deployment may cost), `owner` (which Heat
resource a delivery comes from). All pure. May import: the base modules (`errors`, `objects`,
`timestamps`) and the standard library, PyYAML, jsonpath-ng; nothing that talks to a cluster.
"""
