#!/usr/bin/env python3
"""Write a one-layer image archive that `ctr images import` and `docker load` both take (issue 28).

    mkimage.py OUT.tar NAME ROOTFS_DIR [--entrypoint JSON] [--cmd JSON] [--env K=V ...]
    mkimage.py OUT.tar NAME --busybox   # the rootfs: this host's static busybox, an applet link each

No registry is reachable here, so the images are made locally: the layer is an uncompressed tar
of the rootfs (numeric owners, fixed mtimes, sorted: the same bytes every time, so the same
image digest wherever it is made). The archive is an OCI layout (index.json, named by its
`io.containerd.image.name` annotation) and a docker-archive (manifest.json, for Debian's
dockerd 20.10, which loads no OCI layout) over the same blobs: the real node's containerd
(tools/cluster/realnode.sh) and the compose backend's dockerd (tools/local-docker) run one image
with one config digest (docker's image ID).
"""
import argparse
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile


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


def busybox_rootfs(root):
    """The local/busybox rootfs: /bin/busybox (busybox-static, pinned in tools/versions.env) and
    a link per applet (sh, httpd, wget, nc, ...), /tmp, /www, /data, passwd and group."""
    for d in ("bin", "tmp", "www", "data", "etc"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    os.chmod(os.path.join(root, "tmp"), 0o1777)
    busybox = os.path.join(root, "bin", "busybox")
    shutil.copy("/bin/busybox", busybox)
    os.chmod(busybox, 0o755)
    applets = os.popen(busybox + " --list").read().split()
    for applet in applets:
        if applet != "busybox":
            os.symlink("busybox", os.path.join(root, "bin", applet))
    with open(os.path.join(root, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    with open(os.path.join(root, "etc", "group"), "w") as f:
        f.write("root:x:0:\nnogroup:x:65534:\n")


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
    p.add_argument("rootfs", nargs="?")
    p.add_argument("--busybox", action="store_true", help="make the rootfs from /bin/busybox")
    p.add_argument("--entrypoint", default=None)
    p.add_argument("--cmd", default=None)
    p.add_argument("--env", action="append", default=[])
    a = p.parse_args()
    if a.busybox == bool(a.rootfs):
        p.error("give ROOTFS_DIR or --busybox")
    if a.busybox:
        a.cmd = a.cmd or '["sh"]'
        a.env = a.env or ["PATH=/bin"]
        with tempfile.TemporaryDirectory() as root:
            os.chmod(root, 0o755)
            busybox_rootfs(root)
            layer = layer_tar(root)
    else:
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
        docker_name = a.name[len("docker.io/"):] if a.name.startswith("docker.io/") else a.name
        docker = json.dumps([{"Config": "blobs/sha256/" + config_digest.split(":", 1)[1],
                              "RepoTags": [docker_name],
                              "Layers": ["blobs/sha256/" + layer_digest.split(":", 1)[1]]}]).encode()
        for name, data in (("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index),
                           ("manifest.json", docker)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    os.replace(tmp, a.out)
    print(a.out)


if __name__ == "__main__":
    main()
