"""render.py's survivors of the mutation runs (docs/testing.md) still open: a custom
resource named "." or "..", and the message of a document without metadata."""
from __future__ import annotations

import pytest

from heat_k8s_hook.errors import InvalidInput
from heat_k8s_hook.input.limits import Limits
from heat_k8s_hook.input.render import render

WIDGET = "apiVersion: example.com/v1\nkind: Widget\n"


def refused(config: str) -> str:
    with pytest.raises(InvalidInput) as caught:
        render(config, {}, Limits())
    return str(caught.value)


def test_a_custom_resource_may_not_be_named_dot_or_dot_dot():
    for name in (".", ".."):
        assert refused(WIDGET + f"metadata: {{name: '{name}'}}\n").startswith(
            "document 1 (Widget): metadata.name is not a valid name")
    assert len(render(WIDGET + "metadata: {name: '.a'}\n", {}, Limits())) == 1


def test_a_document_without_metadata_is_missing_its_name():
    assert refused(WIDGET) == "document 1 (Widget): missing metadata.name"
