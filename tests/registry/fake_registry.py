#!/usr/bin/python3
"""A registry that misbehaves on purpose, for tests/registry/fault_test.cc.

Usage: fake_registry.py LAYOUT_DIR REPOSITORY TAG --fault MODE --log FILE
                        [--count N] [--username U --password P]

Serves the image that LAYOUT_DIR's index.json names for TAG (an OCI layout
of tests/support/make_oci_layout.py) under /v2/REPOSITORY/manifests/<tag or
digest> and /v2/REPOSITORY/blobs/<digest>, with Content-Type,
Docker-Content-Digest and Range (206) as a registry does, except where the
fault says otherwise:

  none                  a well-behaved registry
  tamper-blob           the first layer's bytes changed (its gzip header's
                        mtime), same length, still a valid gzip
  corrupt-blob          a byte in the middle of the first layer's deflate
                        stream changed: another digest, and not a valid gzip
  tamper-config         one byte of the config changed, same length
  oversize-manifest     the manifest padded with spaces to over 4 MiB
  retry-after           the first --count manifest requests: 429, Retry-After: 1
  server-error-then-ok  the first --count (2) requests of each path: 503
  drop-mid-blob         the first GET of each layer sends the full
                        Content-Length, half the body, and closes; later
                        Range requests get 206 from the offset
  drop-no-range         as drop-mid-blob, but Range is ignored (200, all)
  drop-wrong-range      as drop-mid-blob, but a Range request gets 206 with
                        the whole blob (Content-Range: bytes 0-...)
  redirect-blob         blob GETs answer 307 to http://localhost:PORT2/...,
                        a second listener of this server that wants no auth
  always-500            every request: 500
  wrong-diff-id         the config's diff_ids name other digests than the
                        layers' uncompressed content (config and manifest
                        rewritten to match)
  slow-blob             the first GET of each layer trickles, 16 bytes
                        every 0.2 s (a few seconds a layer)

With --username, every request to the first port wants Basic credentials
(401 with WWW-Authenticate: Basic otherwise).

Prints "PORT PORT2" on stdout once it listens on 127.0.0.1. Every request
is a JSON line in the --log file: time, port, method, path, range,
authorization and the status answered.
"""

import argparse
import base64
import hashlib
import http.server
import json
import os
import sys
import threading
import time

def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Image:
    """The blobs of the layout, as the fault changes them."""

    def __init__(self, layout, tag, fault):
        with open(os.path.join(layout, "index.json"), "rb") as f:
            index = json.load(f)
        top = next(m for m in index["manifests"]
                   if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag)
        self.layout = layout
        self.blobs = {}  # digest -> bytes, for what the fault rewrote
        self.media_types = {}
        self.tag_digest = top["digest"]
        manifest = json.loads(self.read(top["digest"]))
        self.media_types[top["digest"]] = manifest.get("mediaType", top["mediaType"])
        self.layers = [layer["digest"] for layer in manifest.get("layers", [])]
        self.config = manifest.get("config", {}).get("digest")
        self.served = {}  # digest -> the bytes served under it
        if fault == "tamper-blob":
            data = bytearray(self.read(self.layers[0]))
            data[4] ^= 0x01  # gzip MTIME: still a valid gzip, another digest
            self.served[self.layers[0]] = bytes(data)
        elif fault == "corrupt-blob":
            data = bytearray(self.read(self.layers[0]))
            data[len(data) // 2] ^= 0xff  # inside the deflate stream: no longer a valid gzip
            self.served[self.layers[0]] = bytes(data)
        elif fault == "tamper-config":
            data = bytearray(self.read(self.config))
            at = data.index(b"1970")
            data[at + 3:at + 4] = b"1"
            self.served[self.config] = bytes(data)
        elif fault == "wrong-diff-id":
            config = json.loads(self.read(self.config))
            config["rootfs"]["diff_ids"] = [sha256(b"not layer %d" % i)
                                            for i in range(len(config["rootfs"]["diff_ids"]))]
            config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
            self.config = self.add(config_bytes)
            manifest["config"]["digest"] = self.config
            manifest["config"]["size"] = len(config_bytes)
            self.tag_digest = self.add(json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode())
            self.media_types[self.tag_digest] = manifest["mediaType"]
        elif fault == "oversize-manifest":
            data = self.read(self.tag_digest)
            padded = data[:-1] + b" " * (4 * 1024 * 1024 + 1 - len(data)) + data[-1:]
            self.tag_digest = self.add(padded)
            self.media_types[self.tag_digest] = manifest["mediaType"]

    def add(self, data):
        digest = sha256(data)
        self.blobs[digest] = data
        return digest

    def read(self, digest):
        if digest in self.blobs:
            return self.blobs[digest]
        path = os.path.join(self.layout, "blobs", "sha256", digest.split(":", 1)[1])
        if not os.path.isfile(path):
            return None
        with open(path, "rb") as f:
            return f.read()

    def serve(self, digest):
        return self.served.get(digest) if digest in self.served else self.read(digest)


class State:
    def __init__(self, args, image):
        self.args = args
        self.image = image
        self.lock = threading.Lock()
        self.counts = {}  # path -> requests so far
        self.log = open(args.log, "a", buffering=1)
        self.port2 = 0

    def count(self, key):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1
            return self.counts[key]

    def record(self, entry):
        with self.lock:
            self.log.write(json.dumps(entry) + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    # HTTP/1.0: one request a connection, so a dropped body is a closed socket.
    protocol_version = "HTTP/1.0"
    state = None  # set by main()

    def log_message(self, *args):
        pass

    def do_HEAD(self):
        self.handle_request(body=False)

    def do_GET(self):
        self.handle_request(body=True)

    def answer(self, status, headers=(), body=b"", send_body=True):
        self.status = status
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body and body:
            self.wfile.write(body)

    def error(self, status, code, message, headers=()):
        body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
        self.answer(status, list(headers) + [("Content-Type", "application/json")], body)

    def handle_request(self, body):
        state = self.state
        self.status = 0
        second = self.server.server_address[1] == state.port2
        started = time.time()
        try:
            self.route(state, body, second)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            state.record({"time": started, "port": self.server.server_address[1],
                          "method": self.command, "path": self.path,
                          "range": self.headers.get("Range", ""),
                          "authorization": self.headers.get("Authorization", ""),
                          "status": self.status})

    def route(self, state, body, second):
        args, image, fault = state.args, state.image, state.args.fault
        if fault == "always-500":
            return self.error(500, "UNKNOWN", "the fake registry always fails")
        if fault == "server-error-then-ok" and state.count(self.path) <= args.count:
            return self.error(503, "UNAVAILABLE", "the fake registry is not ready yet")
        if args.username and not second:
            expected = "Basic " + base64.b64encode(f"{args.username}:{args.password}".encode()).decode()
            if self.headers.get("Authorization") != expected:
                return self.error(401, "UNAUTHORIZED", "authentication required",
                                  [("WWW-Authenticate", 'Basic realm="fake registry"')])
        if self.path == "/v2/":
            return self.answer(200, [("Content-Type", "application/json")], b"{}", body)
        prefix = f"/v2/{args.repository}/"
        if not self.path.startswith(prefix):
            return self.error(404, "NAME_UNKNOWN", "repository name not known to registry")
        kind, _, reference = self.path[len(prefix):].partition("/")
        if kind == "manifests":
            return self.manifest(state, reference, body)
        if kind == "blobs":
            return self.blob(state, reference, body, second)
        return self.error(404, "NOT_FOUND", "no such route")

    def manifest(self, state, reference, body):
        if state.args.fault == "retry-after" and state.count("manifest") <= state.args.count:
            return self.error(429, "TOOMANYREQUESTS", "slow down", [("Retry-After", "1")])
        image = state.image
        digest = image.tag_digest if reference == state.args.tag else reference
        if digest not in image.media_types:
            return self.error(404, "MANIFEST_UNKNOWN", "manifest unknown")
        headers = [("Content-Type", image.media_types[digest]), ("Docker-Content-Digest", digest)]
        self.answer(200, headers, image.read(digest), body)

    def blob(self, state, digest, body, second):
        fault, image = state.args.fault, state.image
        data = image.serve(digest)
        if data is None:
            return self.error(404, "BLOB_UNKNOWN", "blob unknown to registry")
        if fault == "redirect-blob" and not second:
            location = f"http://localhost:{state.port2}{self.path}"
            return self.answer(307, [("Location", location)])
        headers = [("Content-Type", "application/octet-stream"), ("Docker-Content-Digest", digest)]
        is_layer = digest in image.layers
        if fault in ("drop-mid-blob", "drop-no-range", "drop-wrong-range") and is_layer and state.count("drop " + digest) == 1:
            # Promise the whole blob, send half, hang up.
            self.status = 200
            self.send_response(200)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        status, start = 200, 0
        requested = self.headers.get("Range", "")
        if requested.startswith("bytes=") and fault != "drop-no-range":
            first, _, last = requested[len("bytes="):].partition("-")
            start = 0 if fault == "drop-wrong-range" else int(first)
            if last or start >= len(data):
                return self.error(416, "RANGE_INVALID", "this fake takes only bytes=N- within the blob")
            status = 206
            headers.append(("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}"))
        part = data[start:]
        if fault == "slow-blob" and is_layer and body and state.count("slow " + digest) == 1:
            self.status = status
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(part)))
            self.end_headers()
            for at in range(0, len(part), 16):
                self.wfile.write(part[at:at + 16])
                self.wfile.flush()
                time.sleep(0.2)
            return
        self.answer(status, headers, part, body)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("layout")
    parser.add_argument("repository")
    parser.add_argument("tag")
    parser.add_argument("--fault", default="none")
    parser.add_argument("--log", required=True)
    parser.add_argument("--count", type=int, default=2)
    parser.add_argument("--username", default="")
    parser.add_argument("--password", default="")
    args = parser.parse_args()

    state = State(args, Image(args.layout, args.tag, args.fault))
    Handler.state = state
    first = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    second = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port2 = second.server_address[1]
    for server in (first, second):
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(first.server_address[1], state.port2, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    sys.exit(main())
