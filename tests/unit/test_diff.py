"""diff.py: a unified diff per object without server noise, Secret values never shown."""
from heat_k8s_hook.engine.diff import unified

LIVE = {"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "n", "resourceVersion": "9", "uid": "u",
                     "managedFields": [{"manager": "x"}]}, "data": {"k": "old"}}


def test_a_changed_field_is_one_hunk_without_server_noise():
    dry = dict(LIVE, metadata=dict(LIVE["metadata"], resourceVersion="10"), data={"k": "new"})
    text = unified("ConfigMap/n/c", LIVE, dry)
    assert "-  k: old\n+  k: new\n" in text
    assert "resourceVersion" not in text and "managedFields" not in text
    assert unified("ConfigMap/n/c", LIVE, LIVE) == ""


def test_secret_values_are_masked_on_both_sides():
    """Would catch a diff printing Secret data (base64 or plain)."""
    live = {"kind": "Secret", "metadata": {"name": "s"}, "data": {"pw": "aHVudGVyMg==",
                                                                  "same": "eA=="}}
    dry = dict(live, data={"pw": "c2VjcmV0LW5ldw==", "same": "eA==", "new": "bmV3"})
    text = unified("Secret/s", live, dry)
    for value in ("aHVudGVyMg==", "c2VjcmV0LW5ldw==", "eA==", "bmV3"):
        assert value not in text
    assert "+  pw: '****** (changed)'" in text and "+  new: '****** (changed)'" in text
    assert "same" not in text.replace(" same: '******'", "")  # unchanged: context only


def test_last_applied_copy_of_a_secret_is_masked():
    """Would catch a diff printing the data through kubectl's last-applied annotation of a
    Secret once applied client-side (checked: red without diff._without_copies)."""
    copy = '{"apiVersion":"v1","data":{"pw":"aHVudGVyMg=="},"kind":"Secret"}'
    live = {"kind": "Secret", "metadata": {"name": "s", "annotations": {
        "kubectl.kubernetes.io/last-applied-configuration": copy}}, "data": {"pw": "aHVudGVyMg=="}}
    dry = {"kind": "Secret", "metadata": {"name": "s", "annotations": {
        "kubectl.kubernetes.io/last-applied-configuration": copy.replace("aHVudGVyMg==",
                                                                         "c2VjcmV0LW5ldw==")}},
        "data": {"pw": "c2VjcmV0LW5ldw=="}}
    text = unified("Secret/s", live, dry)
    assert "aHVudGVyMg==" not in text and "c2VjcmV0LW5ldw==" not in text


def test_creation_diffs_against_dev_null():
    text = unified("ConfigMap/n/c", None, LIVE)
    assert text.startswith("--- /dev/null\n+++ dry-run/ConfigMap/n/c\n")
