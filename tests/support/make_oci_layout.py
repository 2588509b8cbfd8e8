#!/usr/bin/python3
"""Writes a small OCI image layout for the registry tests (tests/support/registry.h).

Usage: make_oci_layout.py DIR TAG [--variant TEXT] [--platforms linux/amd64,linux/arm64]

DIR gets oci-layout, index.json and blobs/sha256/: one image of two gzip
tar layers (a few files, a directory, an executable, and an OCI whiteout in
the second layer), or with --platforms an image index with one such image
per platform. index.json names the top manifest (or index) with the
annotation org.opencontainers.image.ref.name = TAG, which is what skopeo's
oci:DIR:TAG looks up.

Deterministic: fixed mtimes, owners and gzip headers, sorted JSON, so the
same arguments give the same digests (on the same zlib). --variant goes into
a file of the first layer and the config, to make distinct images.

Prints what it wrote as JSON: {"digest", "media_type", "images": [{"platform",
"manifest", "config", "layers": [...]}]}.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
EPOCH = 0  # every mtime, so that the digests do not depend on the day


class Layout:
    def __init__(self, directory):
        self.blobs = os.path.join(directory, "blobs", "sha256")
        os.makedirs(self.blobs, exist_ok=True)

    def write_blob(self, data, media_type):
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(self.blobs, digest), "wb") as f:
            f.write(data)
        return {"mediaType": media_type, "digest": "sha256:" + digest, "size": len(data)}


def canonical_json(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def tar_layer(entries):
    """entries: (path, content or None for a directory, mode). Returns
    (gzip bytes, digest of the uncompressed tar, the diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, content, mode in entries:
            info = tarfile.TarInfo(path)
            info.mtime = EPOCH
            info.mode = mode
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if content is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    tar_bytes = raw.getvalue()
    compressed = io.BytesIO()
    # filename="" and mtime=0 keep the gzip header free of the date and name.
    with gzip.GzipFile(filename="", mode="wb", fileobj=compressed, mtime=0, compresslevel=6) as gz:
        gz.write(tar_bytes)
    return compressed.getvalue(), "sha256:" + hashlib.sha256(tar_bytes).hexdigest()


def write_image(layout, variant, os_name, architecture):
    hello = b"#!/bin/sh\necho hello from the berth registry test image\n"
    first, first_diff_id = tar_layer([
        ("etc", None, 0o755),
        ("etc/hostname", b"berth-registry-test\n", 0o644),
        ("etc/variant", (variant + "\n").encode(), 0o644),
        ("usr", None, 0o755),
        ("usr/bin", None, 0o755),
        ("usr/bin/hello", hello, 0o755),
        ("usr/share", None, 0o755),
        ("usr/share/doc", None, 0o755),
        ("usr/share/doc/README", b"removed by the second layer\n", 0o644),
    ])
    second, second_diff_id = tar_layer([
        ("etc", None, 0o755),
        ("etc/architecture", (architecture + "\n").encode(), 0o644),
        ("usr", None, 0o755),
        ("usr/share", None, 0o755),
        ("usr/share/doc", None, 0o755),
        ("usr/share/doc/.wh.README", b"", 0o644),
    ])
    layers = [layout.write_blob(first, OCI_LAYER_GZIP), layout.write_blob(second, OCI_LAYER_GZIP)]
    config = {
        "architecture": architecture,
        "os": os_name,
        "created": "1970-01-01T00:00:00Z",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["/usr/bin/hello"],
            "Labels": {"org.berth.test.variant": variant},
        },
        "rootfs": {"type": "layers", "diff_ids": [first_diff_id, second_diff_id]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "make_oci_layout.py"}],
    }
    config_descriptor = layout.write_blob(canonical_json(config), OCI_CONFIG)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config_descriptor,
        "layers": layers,
    }
    manifest_descriptor = layout.write_blob(canonical_json(manifest), OCI_MANIFEST)
    summary = {
        "platform": os_name + "/" + architecture,
        "manifest": manifest_descriptor["digest"],
        "config": config_descriptor["digest"],
        "layers": [layer["digest"] for layer in layers],
    }
    return manifest_descriptor, summary


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("tag")
    parser.add_argument("--variant", default="")
    parser.add_argument("--platforms", default="",
                        help="comma-separated os/arch: write an image index of one image each")
    args = parser.parse_args()

    layout = Layout(args.dir)
    if args.platforms:
        entries, images = [], []
        for platform in args.platforms.split(","):
            os_name, architecture = platform.split("/")
            descriptor, summary = write_image(layout, args.variant, os_name, architecture)
            descriptor["platform"] = {"architecture": architecture, "os": os_name}
            entries.append(descriptor)
            images.append(summary)
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
        top = layout.write_blob(canonical_json(index), OCI_INDEX)
    else:
        top, summary = write_image(layout, args.variant, "linux", "amd64")
        images = [summary]

    top["annotations"] = {"org.opencontainers.image.ref.name": args.tag}
    with open(os.path.join(args.dir, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    with open(os.path.join(args.dir, "index.json"), "wb") as f:
        f.write(canonical_json({"schemaVersion": 2, "manifests": [top]}))
    json.dump({"digest": top["digest"], "media_type": top["mediaType"], "images": images},
              sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
