"""The operator CLI's offline commands (render, readiness) as an operator runs them."""
import json
import subprocess
import sys

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
      "data": {"k": {"get_input": "v"}}}
SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
          "stringData": {"pw": "hunter22-secret"}}


def cli(*args, stdin=""):
    return subprocess.run([sys.executable, "-m", "heat_k8s_hook.cli.main", *args], input=stdin,
                          capture_output=True, text=True, timeout=60)


def test_render_substitutes_and_masks(tmp_path):
    import yaml
    dep = {"config": yaml.safe_dump_all([CM, SECRET]),
           "inputs": [{"name": "v", "type": "Number", "value": "7"}]}
    path = tmp_path / "d.json"
    path.write_text(json.dumps(dep))
    out = cli("render", str(path))
    assert out.returncode == 0, out.stderr
    docs = list(yaml.safe_load_all(out.stdout))
    assert docs[0]["data"]["k"] == 7
    assert "hunter22" not in out.stdout


def test_render_reports_invalid_input_with_exit_code():
    out = cli("render", "-", stdin=json.dumps({"config": "a: ["}))
    assert out.returncode == 2 and "invalid YAML at line" in out.stderr


def test_readiness_subcommand_passes_through():
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "d"},
           "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}
    out = cli("readiness", "-", stdin=json.dumps(pod))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Pod/d/p: ready")
    assert cli("readiness", "--help").returncode == 0


def test_help_everywhere_and_json_on_every_subcommand():
    """Every subcommand answers --help and offers --output json."""
    from heat_k8s_hook.cli.main import parser
    sub = next(a for a in parser()._actions if a.dest == "command")
    for name, command in sub.choices.items():
        assert cli(name, "--help").returncode == 0, name
        if name not in ("hook", "readiness"):
            assert "--output" in command.format_help(), name
    assert "json" in cli("readiness", "--help").stdout


def test_render_json_masks_secret_values(tmp_path):
    import yaml
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"config": yaml.safe_dump_all([SECRET])}))
    out = cli("render", str(path), "-o", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)[0]["stringData"] == {"pw": "******"}
    assert "hunter22" not in out.stdout
