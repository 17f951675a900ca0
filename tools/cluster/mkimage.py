#!/usr/bin/env python3
"""Write a one-layer OCI image archive that `ctr images import` takes (issue 28).

    mkimage.py OUT.tar NAME ROOTFS_DIR [--entrypoint JSON] [--cmd JSON] [--env K=V ...]

No registry is reachable here, so the real node's images are made locally: the layer is an
uncompressed tar of ROOTFS_DIR (numeric owners, fixed mtimes, sorted: the same bytes every
time), the image is named by the `io.containerd.image.name` annotation of index.json.
"""
import argparse
import hashlib
import io
import json
import os
import tarfile


def layer_tar(root):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        paths = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(dirnames + filenames):
                paths.append(os.path.join(dirpath, name))
        for path in sorted(paths, key=lambda p: os.path.relpath(p, root)):
            info = tar.gettarinfo(path, arcname=os.path.relpath(path, root))
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 0
            if info.isfile():
                with open(path, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
    return buf.getvalue()


def blob(out, data):
    digest = hashlib.sha256(data).hexdigest()
    info = tarfile.TarInfo("blobs/sha256/" + digest)
    info.size = len(data)
    out.addfile(info, io.BytesIO(data))
    return "sha256:" + digest


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("name")
    p.add_argument("rootfs")
    p.add_argument("--entrypoint", default=None)
    p.add_argument("--cmd", default=None)
    p.add_argument("--env", action="append", default=[])
    a = p.parse_args()
    layer = layer_tar(a.rootfs)
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    cfg = {"Env": a.env or ["PATH=/bin:/sbin:/usr/bin:/usr/sbin"]}
    if a.entrypoint:
        cfg["Entrypoint"] = json.loads(a.entrypoint)
    if a.cmd:
        cfg["Cmd"] = json.loads(a.cmd)
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "config": cfg,
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "created": "1970-01-01T00:00:00Z",
    }, sort_keys=True).encode()
    tmp = a.out + ".tmp"
    with tarfile.open(tmp, "w") as out:
        config_digest = blob(out, config)
        layer_digest = blob(out, layer)
        manifest = json.dumps({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config_digest, "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": layer_digest, "size": len(layer)}],
        }, sort_keys=True).encode()
        manifest_digest = blob(out, manifest)
        index = json.dumps({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest_digest, "size": len(manifest),
                "platform": {"architecture": "amd64", "os": "linux"},
                "annotations": {"io.containerd.image.name": a.name,
                                "org.opencontainers.image.ref.name": a.name.rsplit(":", 1)[-1]},
            }],
        }, sort_keys=True).encode()
        for name, data in (("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    os.replace(tmp, a.out)
    print(a.out)


if __name__ == "__main__":
    main()
