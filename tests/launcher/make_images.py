#!/usr/bin/python3 -I -S
# The launcher suite's test images, in every format `berth import` reads.
#
#   make_images.py busybox OUT
#     OUT/rootfs/           the host's static busybox, a symlink per applet,
#                           /etc/passwd and /etc/group (root, app 1000:1000,
#                           nobody), /home/app owned by app
#     OUT/rootfs.tar        that rootfs as one deterministic tar (the layer)
#     OUT/rootfs.tar.gz     the same tar, gzip-compressed
#     OUT/docker-save.tar   `docker save` of busybox:docker (manifest.json,
#                           <config>.json, <layer>/layer.tar)
#     OUT/oci/              OCI image layout of busybox:oci
#     OUT/oci.tar           that layout as a tar archive
#   Every format carries the same layer bytes (so the same diff_id); the
#   configs differ in a label, so each format is its own image. The configs
#   set Env (IMAGE_VAR=from-image), Entrypoint ["echo", "entrypoint-says"]
#   and Cmd ["cmd-default"].
#
#   make_images.py hostile KIND TARGET OUT
#     OUT/                  OCI layout of hostile:KIND whose one layer holds
#                           a harmless file, then an entry that tries to
#                           reach TARGET (an absolute host path):
#       dotdot              a file named ../../…/TARGET
#       absolute            a file named TARGET
#       symlink             a symlink "escape" -> TARGET (a directory), then
#                           a file "escape/written-through-symlink"
#       symlink-relative    the same with the link target ../../…/TARGET
#       hardlink            a hard link "hostile-hardlink" -> TARGET
#       hardlink-dotdot     a hard link "hostile-hardlink" -> ../../…/TARGET
#       hardlink-with-data  a hard link "hostile-hardlink" -> TARGET that
#                           carries data (tar lets a link entry have a body)
#
# Run by the C++ tests with Debian's python3 (-I -S: no site packages, no
# user environment), so it needs nothing beyond the standard library.
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

MTIME = 1700000000
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar"
ESCAPE = "../" * 16  # from any layer directory up to the host's /


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def make_busybox_rootfs(rootfs):
    for d, mode in [("bin", 0o755), ("sbin", 0o755), ("usr/bin", 0o755), ("usr/sbin", 0o755),
                    ("proc", 0o555), ("sys", 0o555), ("dev", 0o755), ("tmp", 0o1777),
                    ("etc", 0o755), ("root", 0o700), ("home/app", 0o755)]:
        path = os.path.join(rootfs, d)
        os.makedirs(path, exist_ok=True)
        os.chmod(path, mode)
    os.chmod(os.path.join(rootfs, "usr"), 0o755)
    os.chmod(os.path.join(rootfs, "home"), 0o755)
    os.chown(os.path.join(rootfs, "home/app"), 1000, 1000)
    shutil.copy2("/bin/busybox", os.path.join(rootfs, "bin/busybox"))
    os.chmod(os.path.join(rootfs, "bin/busybox"), 0o755)
    applets = subprocess.run(["/bin/busybox", "--list-full"], check=True, capture_output=True,
                             text=True).stdout.split()
    for applet in applets:
        if applet == "bin/busybox":
            continue
        link = os.path.join(rootfs, applet)
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if not os.path.lexists(link):
            os.symlink(os.path.relpath("bin/busybox", os.path.dirname(applet)), link)
    with open(os.path.join(rootfs, "etc/passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n"
                "app:x:1000:1000:app:/home/app:/bin/sh\n"
                "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    with open(os.path.join(rootfs, "etc/group"), "w") as f:
        f.write("root:x:0:\napp:x:1000:\nnobody:x:65534:\n")


def pack_dir(rootfs):
    """The rootfs as a tar with sorted entries and fixed times and names."""
    def normalize(info):
        info.mtime = MTIME
        info.uname = info.gname = ""
        return info

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(rootfs):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, rootfs)
            if rel_dir != ".":
                tar.add(dirpath, arcname=rel_dir, recursive=False, filter=normalize)
            for name in sorted(filenames):
                rel = os.path.normpath(os.path.join(rel_dir, name))
                tar.add(os.path.join(dirpath, name), arcname=rel, recursive=False,
                        filter=normalize)
    return buffer.getvalue()


def make_config(layer_tar, label, extra_config=None):
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2024-01-01T00:00:00Z",
        "config": {
            "Env": [PATH_ENV, "IMAGE_VAR=from-image"],
            "Entrypoint": ["echo", "entrypoint-says"],
            "Cmd": ["cmd-default"],
            "Labels": {"org.berth.test.format": label},
        },
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + sha256(layer_tar)]},
    }
    if extra_config:
        config["config"].update(extra_config)
    return json.dumps(config, sort_keys=True).encode()


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def write_oci_layout(out, ref, layer_tar, config_bytes):
    blobs = os.path.join(out, "blobs", "sha256")
    write(os.path.join(blobs, sha256(layer_tar)), layer_tar)
    write(os.path.join(blobs, sha256(config_bytes)), config_bytes)
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": MT_MANIFEST,
        "config": {"mediaType": MT_CONFIG, "digest": "sha256:" + sha256(config_bytes),
                   "size": len(config_bytes)},
        "layers": [{"mediaType": MT_LAYER, "digest": "sha256:" + sha256(layer_tar),
                    "size": len(layer_tar)}],
    }, sort_keys=True).encode()
    write(os.path.join(blobs, sha256(manifest)), manifest)
    index = {
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": MT_MANIFEST, "digest": "sha256:" + sha256(manifest),
            "size": len(manifest),
            "annotations": {"org.opencontainers.image.ref.name": ref},
        }],
    }
    write(os.path.join(out, "index.json"), json.dumps(index).encode())
    write(os.path.join(out, "oci-layout"), b'{"imageLayoutVersion":"1.0.0"}')


def tar_of_files(files):
    """A tar of (name, bytes) regular files, in order."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = MTIME
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def tar_of_dir(src):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(src):
            dirnames.sort()
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                tar.add(path, arcname=os.path.relpath(path, src))
    return buffer.getvalue()


def busybox(out):
    rootfs = os.path.join(out, "rootfs")
    make_busybox_rootfs(rootfs)
    layer = pack_dir(rootfs)
    write(os.path.join(out, "rootfs.tar"), layer)
    write(os.path.join(out, "rootfs.tar.gz"), gzip.compress(layer, mtime=0))

    docker_config = make_config(layer, "docker-save")
    config_name = sha256(docker_config) + ".json"
    layer_name = sha256(layer) + "/layer.tar"
    manifest = json.dumps([{"Config": config_name, "RepoTags": ["busybox:docker"],
                            "Layers": [layer_name]}]).encode()
    write(os.path.join(out, "docker-save.tar"),
          tar_of_files([("manifest.json", manifest), (config_name, docker_config),
                        (layer_name, layer)]))

    oci = os.path.join(out, "oci")
    # ExposedPorts for `run -P` (tests/launcher/network_test.cc).
    write_oci_layout(oci, "busybox:oci", layer,
                     make_config(layer, "oci", {"ExposedPorts": {"8080/tcp": {}, "5353/udp": {}}}))
    write(os.path.join(out, "oci.tar"), tar_of_dir(oci))


def hostile(kind, target, out):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def add(info, data=None):
            info.mtime = MTIME
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)

        # Something harmless first, so a failed import has half a layer to clean.
        ok_dir = tarfile.TarInfo("etc")
        ok_dir.type = tarfile.DIRTYPE
        ok_dir.mode = 0o755
        add(ok_dir)
        add(tarfile.TarInfo("etc/harmless"), b"harmless\n")
        relative_target = ESCAPE + target.lstrip("/")
        if kind == "dotdot":
            add(tarfile.TarInfo(relative_target), b"escaped through ../\n")
        elif kind == "absolute":
            add(tarfile.TarInfo(target), b"escaped through an absolute name\n")
        elif kind in ("symlink", "symlink-relative"):
            link = tarfile.TarInfo("escape")
            link.type = tarfile.SYMTYPE
            link.linkname = target if kind == "symlink" else relative_target
            add(link)
            add(tarfile.TarInfo("escape/written-through-symlink"), b"escaped through a symlink\n")
        elif kind in ("hardlink", "hardlink-dotdot"):
            link = tarfile.TarInfo("hostile-hardlink")
            link.type = tarfile.LNKTYPE
            link.linkname = target if kind == "hardlink" else relative_target
            add(link)
        elif kind == "hardlink-with-data":
            link = tarfile.TarInfo("hostile-hardlink")
            link.type = tarfile.LNKTYPE
            link.linkname = target
            add(link, b"written through a hard link\n")
        else:
            sys.exit(f"make_images.py: unknown hostile kind {kind}")
        add(tarfile.TarInfo("etc/after"), b"after\n")
    layer = buffer.getvalue()
    write_oci_layout(out, "hostile:" + kind, layer, make_config(layer, "hostile-" + kind))


def main(argv):
    if len(argv) == 3 and argv[1] == "busybox":
        busybox(argv[2])
    elif len(argv) == 5 and argv[1] == "hostile":
        hostile(argv[2], argv[3], argv[4])
    else:
        sys.exit("usage: make_images.py busybox OUT | hostile KIND TARGET OUT")


if __name__ == "__main__":
    main(sys.argv)
