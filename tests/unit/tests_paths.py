"""Paths of the checkout, for tests that run its scripts."""
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
HOOK = ROOT / "hooks" / "kubectl"
