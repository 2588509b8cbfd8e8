#!/usr/bin/env python3
"""The tutorial's Jupyter run, end to end, as a person would do it.

Usage: jupyter_test.py --berth PATH [--network bridge|host] [--keep-screenshots DIR]
                       [unittest arguments]

What the tutorial does with Docker (`docker run -it -p 8888:8888 -v
~/condabooks:/workdir/jupyter IMAGE`, then Jupyter at
http://127.0.0.1:8888/?token=...), done with berth and checked from the host:

1. `tools/mkimage ml` (cached; ctest's `e2e_ml_image` fixture builds it) and
   `berth import` of it into a fresh temp `--root`.
2. `berth run -d -p 127.0.0.1:HOSTPORT:8888 -v HOSTDIR:/workdir/jupyter
   berth-ml:bookworm jupyter notebook ... --NotebookApp.token=TOKEN`, with a
   free host port and a random token; `berth port` and `berth inspect` must
   show the publication and the container's bridge address.
3. Jupyter's REST API through the published port: a notebook is created
   (PUT /api/contents), a kernel session started (POST /api/sessions), a cell
   run over the kernel's websocket channels (a small stdlib client below:
   Debian's python3-websocket is for /usr/bin/python3 only, and ctest's
   python may be another), and the notebook saved with its output. The
   .ipynb with the output must then be in HOSTDIR on the host.
4. A notebook written on the host into HOSTDIR is executed in the container
   with `berth exec NAME jupyter nbconvert --execute --inplace`; its output
   must be in the file on the host.
5. Headless Chromium screenshots http://127.0.0.1:HOSTPORT/tree?token=...
   and the saved notebook's page; each PNG must be a 1280x800 picture that
   is not blank. Chromium is fenced to loopback: every host name but
   127.0.0.1 resolves to nothing and any other HTTP(S) goes to a dead proxy
   on 127.0.0.1:9, so even a stray background request stays on this machine.

Teardown runs whatever failed: `berth rm -f`, then checks that nothing is
left (the container's host-side veth `vb-<id>`, an nft map element for its
address or port in `table ip berth0`, its address lease under
/run/berth-network, a mount under the temp dir, a container record),
removes what it found (and the temp dirs), and fails on any leftover.
Leftovers are what appeared since the test began, so another run's stale
state is not blamed on this one.

`--network host` (development only, before bridge networking existed) runs
Jupyter on the host's network at HOSTPORT and skips the publication checks.

Traffic goes only to 127.0.0.1 (the published port; Jupyter's own kernel
traffic stays inside the container).
"""

import argparse
import base64
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
IMAGE = "berth-ml:bookworm"
CONTAINER_NOTEBOOKS = "/workdir/jupyter"
COMMAND_TIMEOUT = 60
IMPORT_TIMEOUT = 600       # the ml image is ~1.5 GB unpacked
JUPYTER_START_TIMEOUT = 90  # the API answering after `run -d`
KERNEL_TIMEOUT = 60         # a kernel starting and running one cell
NBCONVERT_TIMEOUT = 180
CHROMIUM_TIMEOUT = 120
LEASES = "/run/berth-network"

# The notebook's cell: its output proves it ran in the container (the
# kernel's cwd is the mounted folder) and computed something.
CELL = ('import os\n'
        'print("answer", 6 * 7)\n'
        'print("cwd", os.getcwd())\n')
EXPECTED = ["answer 42", f"cwd {CONTAINER_NOTEBOOKS}"]

# Set by main().
BERTH = ""
NETWORK = "bridge"
KEEP_SCREENSHOTS = None


def describe(result):
    argv = result.args if isinstance(result.args, list) else [result.args]
    return (f"\n$ {' '.join(map(str, argv))}\nexit status {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")


def run(argv, timeout=COMMAND_TIMEOUT, check=True, **kwargs):
    result = subprocess.run([str(a) for a in argv], stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError("command failed:" + describe(result))
    return result


def free_port():
    """A TCP port nothing listens on now on 127.0.0.1 (the kernel's choice)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def minimal_notebook(source, outputs=(), execution_count=None):
    return {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}},
        "cells": [{"cell_type": "code", "id": "e2e-cell", "metadata": {},
                   "source": source, "outputs": list(outputs),
                   "execution_count": execution_count}],
    }


def notebook_text(notebook):
    """All text output of a notebook's code cells, joined."""
    texts = []
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            text = output.get("text", output.get("data", {}).get("text/plain", ""))
            texts.append("".join(text) if isinstance(text, list) else text)
    return "".join(texts)


class WebSocket:
    """Just enough of RFC 6455 for Jupyter's kernel channels: a client that
    sends masked text frames and reads text frames (answering pings)."""

    GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self, host, port, path, headers, timeout):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
                 "Sec-WebSocket-Version: 13", *(f"{k}: {v}" for k, v in headers.items())]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError(f"websocket handshake: connection closed: {response!r}")
            response += chunk
        head, self.buffer = response.split(b"\r\n\r\n", 1)
        status = head.split(b"\r\n")[0].decode()
        if " 101 " not in status + " ":
            raise ConnectionError(f"websocket handshake refused: {head.decode(errors='replace')}")
        accept = base64.b64encode(hashlib.sha1((key + self.GUID).encode()).digest())
        if accept not in head:
            raise ConnectionError("websocket handshake: wrong Sec-WebSocket-Accept")

    def _send_frame(self, opcode, payload):
        mask = os.urandom(4)
        header = bytearray([0x80 | opcode])
        if len(payload) < 126:
            header.append(0x80 | len(payload))
        elif len(payload) < 1 << 16:
            header.append(0x80 | 126)
            header += struct.pack("!H", len(payload))
        else:
            header.append(0x80 | 127)
            header += struct.pack("!Q", len(payload))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(bytes(header) + mask + masked)

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("websocket closed by the server")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def send_text(self, text):
        self._send_frame(0x1, text.encode())

    def recv_text(self):
        """The next whole text message (fragments joined, pings answered)."""
        message = b""
        while True:
            first, second = self._read(2)
            opcode, final = first & 0x0F, first & 0x80
            length = second & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self._read(8))[0]
            mask = self._read(4) if second & 0x80 else None
            payload = self._read(length)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x9:  # ping
                self._send_frame(0xA, payload)
                continue
            if opcode == 0x8:
                raise ConnectionError(f"websocket closed by the server: {payload!r}")
            if opcode in (0x0, 0x1, 0x2):
                message += payload
                if final:
                    return message.decode()

    def close(self):
        try:
            self._send_frame(0x8, struct.pack("!H", 1000))
        except OSError:
            pass
        self.sock.close()


class JupyterEndToEnd(unittest.TestCase):
    """One container for the whole class; the tests run in name order."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="berth-e2e-"))
        cls.root = cls.tmp / "root"
        cls.notebooks = cls.tmp / "notebooks"
        cls.notebooks.mkdir()
        cls.name = "berth-e2e-" + secrets.token_hex(4)
        cls.token = secrets.token_hex(24)
        cls.port = free_port()
        cls.started = False
        cls.host_veth = None          # (ifindex, name) of the container's host-side veth
        cls.id = None
        cls.nft_before = nft_elements()  # stale ones of others are not ours
        cls.container_ip = None
        try:
            cls.start_jupyter()
        except BaseException:
            # tearDownClass does not run when setUpClass fails.
            cls.teardown_and_check(raise_on_leftovers=False)
            raise

    @classmethod
    def berth(cls, *args, timeout=COMMAND_TIMEOUT, check=True):
        return run([BERTH, "--root", cls.root, *args], timeout=timeout, check=check)

    @classmethod
    def start_jupyter(cls):
        layout = run([REPO / "tools" / "mkimage", "ml"], timeout=1800).stdout.strip().splitlines()[-1]
        cls.berth("import", layout, timeout=IMPORT_TIMEOUT)
        jupyter = ["jupyter", "notebook", "--ip", "0.0.0.0", "--allow-root", "--no-browser",
                   f"--NotebookApp.token={cls.token}"]
        if NETWORK == "host":
            # The host's network: Jupyter itself listens on the host port.
            flags = ["--network", "host"]
            jupyter = ["jupyter", "notebook", "--ip", "127.0.0.1", f"--port={cls.port}",
                       *jupyter[4:]]
        else:
            flags = ["-p", f"127.0.0.1:{cls.port}:8888"]
        result = cls.berth("run", "-d", "--name", cls.name, *flags,
                           "-v", f"{cls.notebooks}:{CONTAINER_NOTEBOOKS}", IMAGE, *jupyter)
        cls.started = True
        cls.id = result.stdout.strip().splitlines()[-1]
        if NETWORK != "host":
            cls.record_network()
        cls.wait_for_api()

    @classmethod
    def record_network(cls):
        """The container's address and its host-side veth, for the checks and
        for teardown's leftover search."""
        details = json.loads(cls.berth("inspect", cls.name).stdout)[0]
        cls.container_ip = details.get("NetworkSettings", {}).get("IPAddress") or None
        # eth0's iflink inside the container is the ifindex of its peer, the
        # host-side end of the veth.
        result = cls.berth("exec", cls.name, "cat", "/sys/class/net/eth0/iflink", check=False)
        if result.returncode == 0 and result.stdout.strip().isdigit():
            index = int(result.stdout.strip())
            cls.host_veth = (index, host_links().get(index))

    @classmethod
    def wait_for_api(cls):
        """Until GET /api answers, the container stays running, or the time is up."""
        deadline = time.monotonic() + JUPYTER_START_TIMEOUT
        last_error = None
        while time.monotonic() < deadline:
            try:
                version = cls.api("GET", "/api", timeout=5)
                if "version" in version:
                    return version
            except (OSError, urllib.error.URLError, ValueError) as error:
                last_error = error
            if not cls.running():
                raise AssertionError(f"the container exited before Jupyter answered:\n"
                                     f"{cls.berth('logs', cls.name, check=False).stdout}"
                                     f"{cls.berth('logs', cls.name, check=False).stderr}")
            time.sleep(0.5)
        raise AssertionError(f"Jupyter did not answer on 127.0.0.1:{cls.port} within "
                             f"{JUPYTER_START_TIMEOUT} s (last error: {last_error}); its log:\n"
                             f"{cls.berth('logs', cls.name, check=False).stdout}")

    @classmethod
    def running(cls):
        result = cls.berth("inspect", cls.name, check=False)
        if result.returncode != 0:
            return False
        return json.loads(result.stdout)[0]["State"]["Running"]

    @classmethod
    def api(cls, method, path, body=None, timeout=30):
        """A Jupyter REST call through the published port, authenticated by token."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{cls.port}{path}", data=data,
                                         method=method)
        request.add_header("Authorization", f"token {cls.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        # No proxy from the environment: this must reach 127.0.0.1 directly.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=timeout) as response:
            text = response.read().decode()
        return json.loads(text) if text else {}

    # -- the checks, in order -------------------------------------------------

    def test_1_port_and_address(self):
        if NETWORK == "host":
            self.skipTest("--network host: nothing is published")
        result = self.berth("port", self.name)
        self.assertIn(f"8888/tcp -> 127.0.0.1:{self.port}", result.stdout.splitlines(),
                      describe(result))
        self.assertIsNotNone(self.container_ip, "inspect has no NetworkSettings.IPAddress")
        self.assertTrue(self.container_ip.startswith("10.87."),
                        f"container address {self.container_ip} is not in 10.87.0.0/16")
        self.assertIsNotNone(self.host_veth, "eth0's peer (the host-side veth) not found")
        self.assertEqual(self.host_veth[1], veth_name(self.id),
                         f"the host-side veth (ifindex {self.host_veth[0]})")

    def test_2_notebook_through_the_kernel(self):
        path = "e2e-kernel.ipynb"
        # Create the notebook as the browser's "New" does, with our cell.
        self.api("PUT", f"/api/contents/{path}",
                 {"type": "notebook", "format": "json", "content": minimal_notebook(CELL)})
        session = self.api("POST", "/api/sessions",
                           {"path": path, "name": path, "type": "notebook",
                            "kernel": {"name": "python3"}})
        kernel_id = session["kernel"]["id"]
        try:
            outputs, count = self.execute(kernel_id, CELL)
        finally:
            self.api("DELETE", f"/api/sessions/{session['id']}")
        # Save it with the output, as the browser's save does.
        self.api("PUT", f"/api/contents/{path}",
                 {"type": "notebook", "format": "json",
                  "content": minimal_notebook(CELL, outputs, count)})
        on_host = self.notebooks / path
        self.assertTrue(on_host.is_file(), f"{on_host} is not on the host")
        text = notebook_text(json.loads(on_host.read_text()))
        for expected in EXPECTED:
            self.assertIn(expected, text, f"the saved notebook's output: {text!r}")

    def execute(self, kernel_id, code):
        """Runs code on the kernel's channels; returns (nbformat outputs, execution count)."""
        session_id = uuid.uuid4().hex
        ws = WebSocket("127.0.0.1", self.port,
                       f"/api/kernels/{kernel_id}/channels?session_id={session_id}",
                       {"Authorization": f"token {self.token}"}, timeout=KERNEL_TIMEOUT)
        try:
            msg_id = uuid.uuid4().hex
            ws.send_text(json.dumps({
                "header": {"msg_id": msg_id, "username": "e2e", "session": session_id,
                           "msg_type": "execute_request", "version": "5.3"},
                "parent_header": {}, "metadata": {}, "buffers": [], "channel": "shell",
                "content": {"code": code, "silent": False, "store_history": True,
                            "user_expressions": {}, "allow_stdin": False,
                            "stop_on_error": True}}))
            outputs, count, replied, idle = [], None, False, False
            deadline = time.monotonic() + KERNEL_TIMEOUT
            while not (replied and idle):
                if time.monotonic() > deadline:
                    self.fail(f"no execute_reply within {KERNEL_TIMEOUT} s; outputs: {outputs}")
                message = json.loads(ws.recv_text())
                if message.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = message["msg_type"], message["content"]
                if kind == "stream":
                    outputs.append({"output_type": "stream", "name": content["name"],
                                    "text": content["text"]})
                elif kind == "execute_result":
                    outputs.append({"output_type": "execute_result", "metadata": {},
                                    "data": content["data"],
                                    "execution_count": content["execution_count"]})
                elif kind == "error":
                    self.fail(f"the cell raised: {content['ename']}: {content['evalue']}")
                elif kind == "execute_reply":
                    replied, count = True, content.get("execution_count")
                    self.assertEqual(content["status"], "ok", content)
                elif kind == "status" and content["execution_state"] == "idle":
                    idle = True
            return outputs, count
        finally:
            ws.close()

    def test_3_nbconvert_in_the_container(self):
        # Written on the host, executed in the container, read on the host.
        path = "e2e-nbconvert.ipynb"
        (self.notebooks / path).write_text(json.dumps(minimal_notebook(CELL)))
        listing = self.api("GET", "/api/contents/")
        self.assertIn(path, [entry["name"] for entry in listing["content"]],
                      "Jupyter does not see the notebook written on the host")
        self.berth("exec", self.name, "jupyter", "nbconvert", "--to", "notebook", "--execute",
                   "--inplace", f"{CONTAINER_NOTEBOOKS}/{path}", timeout=NBCONVERT_TIMEOUT)
        text = notebook_text(json.loads((self.notebooks / path).read_text()))
        for expected in EXPECTED:
            self.assertIn(expected, text, f"the executed notebook's output: {text!r}")

    def screenshot(self, page, png):
        """Headless Chromium's 1280x800 screenshot of page (a path on Jupyter)."""
        chromium = shutil.which("chromium")
        self.assertIsNotNone(chromium, "chromium is missing: run tools/install-deps")
        profile = Path(tempfile.mkdtemp(prefix="chromium.", dir=self.tmp))
        argv = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                # Loopback only (see the module's comment).
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--proxy-server=127.0.0.1:9",
                "--hide-scrollbars", f"--user-data-dir={profile}",
                # Time for the page's scripts to list the folder or render
                # the notebook.
                "--virtual-time-budget=10000",
                f"--screenshot={png}", "--window-size=1280,800",
                f"http://127.0.0.1:{self.port}{page}"]
        env = dict(os.environ, HOME=str(profile), XDG_CONFIG_HOME=str(profile / "config"),
                   XDG_CACHE_HOME=str(profile / "cache"))
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, env=env,
                                   start_new_session=True)
        try:
            output, _ = process.communicate(timeout=CHROMIUM_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
            self.fail(f"chromium took over {CHROMIUM_TIMEOUT} s:\n{output[-3000:]}")
        finally:
            # Its helpers (zygote, utility processes) are in its session.
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.assertTrue(png.is_file(), f"no screenshot; chromium said:\n{output[-3000:]}")
        data = png.read_bytes()
        self.assertEqual(data[:8], b"\x89PNG\r\n\x1a\n", "not a PNG")
        width, height = struct.unpack("!II", data[16:24])
        self.assertEqual((width, height), (1280, 800))
        # Chromium's blank 1280x800 page is a 4.7 KB PNG; the tree page with
        # its header, toolbar and two notebooks listed is about 26 KB.
        self.assertGreater(len(data), 10000, f"the screenshot of {page} looks blank")
        if KEEP_SCREENSHOTS:
            shutil.copy(png, Path(KEEP_SCREENSHOTS) / png.name)

    def test_4_browser_tree_page(self):
        self.screenshot(f"/tree?token={self.token}", self.tmp / "tree.png")

    def test_5_browser_notebook_page(self):
        # The notebook saved in test 2, with its output, as a person opens it.
        self.screenshot(f"/notebooks/e2e-kernel.ipynb?token={self.token}",
                        self.tmp / "notebook.png")

    # -- teardown ---------------------------------------------------------------

    @classmethod
    def tearDownClass(cls):
        cls.teardown_and_check(raise_on_leftovers=True)

    @classmethod
    def teardown_and_check(cls, raise_on_leftovers):
        leftovers = []
        if cls.started:
            result = cls.berth("rm", "-f", cls.name, check=False)
            if result.returncode != 0:
                leftovers.append("berth rm -f failed:" + describe(result))
        if cls.root.exists():
            result = cls.berth("ps", "-a", "-q", check=False)
            if result.stdout.strip():
                leftovers.append(f"containers still recorded: {result.stdout.strip()}")
        if cls.host_veth:
            index, name = cls.host_veth
            now = host_links()
            if now.get(index) == name:
                leftovers.append(f"the container's veth {name} (ifindex {index}) is still there")
                run(["ip", "link", "delete", name], check=False)
        if cls.id and veth_name(cls.id) in host_links().values():
            leftovers.append(f"a veth {veth_name(cls.id)} is still there")
        nft_left = nft_leftovers(cls.port, cls.container_ip, cls.nft_before)
        leftovers += [f"nft {name} element {text}" for name, text in nft_left]
        remove_nft_elements(nft_left)
        lease_left = lease_leftovers(cls.id)
        leftovers += lease_left
        if lease_left:
            remove_lease(cls.id)
        mounts = mounts_under(cls.tmp)
        if mounts:
            leftovers.append(f"mounts left under {cls.tmp}: {mounts}")
            for mount in sorted(mounts, key=len, reverse=True):
                run(["umount", "-l", mount], check=False)
        if not mounts_under(cls.tmp):
            shutil.rmtree(cls.tmp, ignore_errors=True)
        if cls.tmp.exists():
            leftovers.append(f"{cls.tmp} could not be removed")
        if leftovers and raise_on_leftovers:
            raise AssertionError("left behind:\n" + "\n".join(leftovers))
        for leftover in leftovers:
            print("left behind:", leftover, file=sys.stderr)


def host_links():
    """{ifindex: name} of the links in the host's (this process's) network namespace."""
    result = run(["ip", "-j", "link", "show"], check=False)
    if result.returncode != 0:
        return {}
    return {link["ifindex"]: link["ifname"] for link in json.loads(result.stdout)}


def veth_name(container_id):
    """The host-side veth berth names after a container."""
    return "vb-" + container_id[:12]


def lease_leftovers(container_id):
    """Address leases (berth's files under /run/berth-network) still naming the container."""
    found = []
    if not container_id or not os.path.isdir(LEASES):
        return found
    for dirpath, _, filenames in os.walk(LEASES):
        for filename in filenames:
            path = os.path.join(dirpath, filename)
            try:
                if container_id in Path(path).read_text(errors="replace"):
                    found.append(f"the lease file {path} still names {container_id}")
            except OSError:
                pass
    return found


def nft_elements():
    """{(map name, element as JSON text)} of berth's nft table (empty without one)."""
    if not shutil.which("nft"):
        return set()
    result = run(["nft", "-j", "list", "table", "ip", "berth0"], check=False)
    if result.returncode != 0:
        return set()  # no table: nothing of ours in it
    elements = set()
    for entry in json.loads(result.stdout).get("nftables", []):
        collection = entry.get("map") or entry.get("set")
        for element in (collection or {}).get("elem", []):
            elements.add((collection.get("name"), json.dumps(element)))
    return elements


def nft_leftovers(port, address, before):
    """Elements added since the test began that name our host port or address."""
    found = []
    for name, text in sorted(nft_elements() - before):
        if re.search(rf"\b{port}\b", text) or (address and f'"{address}"' in text):
            found.append((name, text))
    return found


def remove_nft_elements(elements):
    """Deletes elements berth left (so a failed run does not block the port)."""
    for name, text in elements:
        key = json.loads(text)[0]
        if isinstance(key, dict):
            key = " . ".join(str(part) for part in key["concat"])
        run(["nft", "delete", "element", "ip", "berth0", name, f"{{ {key} }}"], check=False)


def remove_lease(container_id):
    """Drops the container's entry from berth's lease files, under their lock."""
    for dirpath, _, filenames in os.walk(LEASES):
        for filename in filenames:
            if not filename.endswith(".json"):
                continue
            path = Path(dirpath) / filename
            with open(path.with_suffix(".lock"), "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                data = json.loads(path.read_text())
                data["leases"] = [lease for lease in data.get("leases", [])
                                  if lease.get("container_id") != container_id]
                path.write_text(json.dumps(data, indent=2))


def mounts_under(path):
    prefix = str(path).rstrip("/") + "/"
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mount_point = line.split()[4].replace("\\040", " ")
            if mount_point.startswith(prefix) or mount_point == str(path):
                found.append(mount_point)
    return found


def main():
    global BERTH, NETWORK, KEEP_SCREENSHOTS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--berth", required=True, help="the berth binary")
    parser.add_argument("--network", choices=["bridge", "host"], default="bridge")
    parser.add_argument("--keep-screenshots", metavar="DIR",
                        help="copy the screenshots (tree.png, notebook.png) into DIR")
    args, rest = parser.parse_known_args()
    if os.geteuid() != 0:
        sys.exit("jupyter_test: must run as root (containers)")
    BERTH = os.path.abspath(args.berth)
    NETWORK = args.network
    KEEP_SCREENSHOTS = args.keep_screenshots
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()
