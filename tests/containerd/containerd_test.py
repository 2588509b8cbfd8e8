#!/usr/bin/env python3
"""berth-runtime under containerd 1.6, driven the way users drive it: ctr.

Usage: containerd_test.py --runtime PATH [unittest arguments]

Starts a private containerd (its own config, root, state, sockets under a
temp dir), imports a busybox image this script writes, and runs containers
with `ctr run --runc-binary PATH`, so containerd-shim-runc-v2 calls PATH
exactly as it calls runc. ctest runs it twice: with berth-runtime and with
runc (/usr/sbin/runc), so a check that fails only for berth is berth's.

Why Python and not a gtest binary like tests/integration: everything here is
an external program (containerd, ctr, script) or a file, and nothing links
berth's library. The standard library's subprocess, tarfile, hashlib and
json cover it (writing the image archive in C++ would need libarchive code
that the harness does not have), and python3 is already a dependency
(tools/mkbundle).

Teardown runs even when a check fails: it kills and deletes every task and
container through ctr, stops exactly the containerd it started (by pid),
then looks for what is left -- shims, mounts, cgroups, runtime state,
entries in /run/containerd -- reports each as a failure and removes it.
"""

import argparse
import hashlib
import io
import json
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import unittest

BUSYBOX = "/bin/busybox"
# The applets the checks use, as links in the image's /bin.
APPLETS = ["sh", "echo", "cat", "sleep", "tty", "id", "test"]
IMAGE = "berth.test/busybox:latest"
# An image whose entrypoint does not exist: create must fail in the runtime,
# and ctr must show the runtime's own message.
BROKEN_IMAGE = "berth.test/broken:latest"
MISSING_ENTRYPOINT = "/bin/missing-entrypoint"
# containerd 1.6's shims put their sockets in /run/containerd/s whatever the
# config says (the shim package's socket root is a constant).
RUN_CONTAINERD = "/run/containerd"
COMMAND_TIMEOUT = 30
# ctr cancels the copy of a process's output once the process has exited
# (its Delete cancels the IO before waiting for it), so the last output of a
# process that exits at once can be lost, with runc as with berth: the
# checks' processes stay a moment after their output.
LINGER = "sleep 0.2"

# Set by main() from the command line, and by setUpModule.
RUNTIME = ""
ENV = None


class Environment:
    """The private containerd and everything the tests made."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="berth-ctd-")
        # The namespace names every cgroup (/<ns>/<id>) and runtime root
        # (<runc-root>/<ns>) the tests make: unique, so leftovers are ours.
        self.namespace = "berth-ctd-" + secrets.token_hex(4)
        self.address = os.path.join(self.tmp, "containerd.sock")
        self.root = os.path.join(self.tmp, "root")
        self.state = os.path.join(self.tmp, "state")
        self.fifo_dir = os.path.join(self.tmp, "fifo")
        self.runc_root = os.path.join(self.tmp, "runc-root")
        self.share = os.path.join(self.tmp, "share")
        self.log_path = os.path.join(self.tmp, "containerd.log")
        self.process = None
        self.log_file = None
        self.containers = []  # every id a test used, for teardown
        self.run_containerd_before = self.snapshot_run_containerd()
        for path in (self.fifo_dir, self.runc_root, self.share):
            os.makedirs(path)

    @staticmethod
    def snapshot_run_containerd():
        """What /run/containerd and its s/ hold now (None: absent)."""
        if not os.path.isdir(RUN_CONTAINERD):
            return None
        entries = set()
        for dirpath, dirnames, filenames in os.walk(RUN_CONTAINERD):
            for name in dirnames + filenames:
                entries.add(os.path.join(dirpath, name))
        return entries

    def write_config(self):
        # Only what ctr needs: no CRI, no snapshotter but overlayfs (native
        # stays as the fallback ctr can name), no opt plugin (it would make
        # /var/lib/containerd/opt), no metrics or tracing endpoints.
        disabled = [
            "io.containerd.grpc.v1.cri",
            "io.containerd.internal.v1.opt",
            "io.containerd.snapshotter.v1.aufs",
            "io.containerd.snapshotter.v1.btrfs",
            "io.containerd.snapshotter.v1.devmapper",
            "io.containerd.snapshotter.v1.zfs",
            "io.containerd.tracing.processor.v1.otlp",
            "io.containerd.internal.v1.tracing",
        ]
        config = f"""version = 2
root = "{self.root}"
state = "{self.state}"
disabled_plugins = {json.dumps(disabled)}

[grpc]
  address = "{self.address}"
[ttrpc]
  address = "{self.address}.ttrpc"
[debug]
  address = "{self.address}.debug"
[metrics]
  address = ""
"""
        path = os.path.join(self.tmp, "config.toml")
        with open(path, "w") as f:
            f.write(config)
        return path

    def start(self):
        config = self.write_config()
        self.log_file = open(self.log_path, "w")
        self.process = subprocess.Popen(
            ["containerd", "--config", config],
            stdin=subprocess.DEVNULL, stdout=self.log_file, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + 10
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"containerd --config {config} exited with {self.process.returncode}:\n"
                    + self.log_tail())
            probe = subprocess.run(self.ctr_argv("version"), capture_output=True, text=True)
            if probe.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"containerd not ready after 10 s ({probe.stderr.strip()}):\n"
                                   + self.log_tail())
            time.sleep(0.05)

    def log_tail(self, lines=30):
        try:
            with open(self.log_path) as f:
                return "".join(f.readlines()[-lines:])
        except OSError as error:
            return f"(no containerd log: {error})"

    def ctr_argv(self, *args):
        return ["ctr", "--address", self.address, "--namespace", self.namespace, *args]

    def stop(self):
        """Stops the containerd we started, by pid: TERM, then KILL."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def ctr(*args):
    """Runs ctr against our containerd; the result has stdout, stderr, returncode."""
    return subprocess.run(ENV.ctr_argv(*args), stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=COMMAND_TIMEOUT)


def under_pty(argv):
    """Runs argv on a pty (script -e returns its exit status)."""
    return subprocess.run(["script", "-qec", shlex.join(argv), "/dev/null"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=COMMAND_TIMEOUT)


def describe(result):
    """What a failing check prints: the command and everything it said."""
    argv = result.args if isinstance(result.args, list) else [result.args]
    return (f"\n$ {' '.join(argv)}\nexit status {result.returncode}\n"
            f"stdout: {result.stdout!r}\nstderr: {result.stderr!r}")


def runtime_flags():
    return ["--runc-binary", RUNTIME, "--runc-root", ENV.runc_root, "--fifo-dir", ENV.fifo_dir]


# ctr asks for linux.resources.cpu.shares 1024 unless told 0. berth manages
# cgroup v2 only and refuses a limit whose controller v2 lacks; on a hybrid
# host (these machines) the cpu controller is bound to v1, where runc writes
# it. The checks turn the shares off, and one checks the default on its own.
NO_CPU_SHARES = ["--cpu-shares", "0"]


def runtime_is_runc():
    return os.path.basename(RUNTIME) == "runc"


def cgroup2_controllers():
    for mount, fstype in cgroup_mounts():
        if fstype == "cgroup2":
            with open(os.path.join(mount, "cgroup.controllers")) as f:
                return f.read().split()
    return []


def exec_args(container_id, exec_id, *command, flags=()):
    """ctr's arguments for `task exec`: the shim knows the runtime already."""
    return ["task", "exec", "--fifo-dir", ENV.fifo_dir, *flags, "--exec-id", exec_id,
            container_id, *command]


def new_id(test_name):
    container_id = f"{test_name}-{secrets.token_hex(3)}"
    ENV.containers.append(container_id)
    return container_id


# --- the image ------------------------------------------------------------

def tar_bytes(add_entries):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        add_entries(tar)
    return buffer.getvalue()


def add_member(tar, name, kind, data=b"", mode=0o755, linkname=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = 0
    info.linkname = linkname
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data) if data else None)


def busybox_layer():
    with open(BUSYBOX, "rb") as f:
        busybox = f.read()

    def entries(tar):
        # The mount points the spec containerd writes needs (/proc, /dev,
        # /sys, /run, /tmp) and /share for the tests' bind mount.
        for directory in ["bin", "dev", "proc", "sys", "run", "tmp", "etc", "share"]:
            mode = 0o1777 if directory == "tmp" else 0o755
            add_member(tar, directory, tarfile.DIRTYPE, mode=mode)
        add_member(tar, "bin/busybox", tarfile.REGTYPE, busybox)
        for applet in APPLETS:
            add_member(tar, f"bin/{applet}", tarfile.SYMTYPE, linkname="busybox", mode=0o777)

    return tar_bytes(entries)


def image_config(layer_digest, entrypoint):
    return json.dumps({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/bin"], "Entrypoint": entrypoint, "Cmd": None,
                   "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
    }).encode()


def write_image_archive(path):
    """A `docker save` archive of both images, sharing one layer."""
    layer = busybox_layer()
    layer_hex = hashlib.sha256(layer).hexdigest()
    configs = {
        IMAGE: image_config("sha256:" + layer_hex, ["/bin/sh"]),
        BROKEN_IMAGE: image_config("sha256:" + layer_hex, [MISSING_ENTRYPOINT]),
    }
    manifest = []
    blobs = {f"{layer_hex}/layer.tar": layer}
    for tag, config in configs.items():
        name = hashlib.sha256(config).hexdigest() + ".json"
        blobs[name] = config
        manifest.append({"Config": name, "RepoTags": [tag], "Layers": [f"{layer_hex}/layer.tar"]})
    blobs["manifest.json"] = json.dumps(manifest).encode()

    def entries(tar):
        add_member(tar, layer_hex, tarfile.DIRTYPE)
        for name, data in blobs.items():
            add_member(tar, name, tarfile.REGTYPE, data, mode=0o644)

    with open(path, "wb") as f:
        f.write(tar_bytes(entries))


# --- setup and teardown ---------------------------------------------------

def check_prerequisites():
    missing = [tool for tool in ("containerd", "ctr", "containerd-shim-runc-v2", "script")
               if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(f"{', '.join(missing)} not found in PATH: install Debian's containerd "
                           "and bsdutils packages (tools/install-deps)")
    if not os.access(RUNTIME, os.X_OK):
        raise RuntimeError(f"--runtime {RUNTIME}: not an executable file")
    if not os.path.isfile(BUSYBOX):
        raise RuntimeError(f"{BUSYBOX} not found: install busybox-static (tools/install-deps)")
    if os.geteuid() != 0:
        raise RuntimeError("must run as root: containerd mounts snapshots and creates cgroups")


def setUpModule():
    global ENV
    check_prerequisites()
    ENV = Environment()
    try:
        ENV.start()
        archive = os.path.join(ENV.tmp, "images.tar")
        write_image_archive(archive)
        result = ctr("images", "import", "--snapshotter", "overlayfs", archive)
        if result.returncode != 0:
            raise RuntimeError("importing the test images failed:" + describe(result))
    except BaseException:
        tearDownModule()
        raise


def cgroup_mounts():
    mounts = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            fstype = fields[fields.index("-") + 1]
            if fstype in ("cgroup", "cgroup2"):
                mounts.append((fields[4], fstype))
    return mounts


def mounts_matching(fragments):
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mount_point = line.split()[4].replace("\\040", " ")
            if any(fragment in mount_point for fragment in fragments):
                found.append(mount_point)
    return found


def processes_mentioning(text):
    """Pids whose command line holds text (our unique temp dir or namespace)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            pids.append((int(entry), cmdline.strip()))
    return pids


def remove_cgroup_tree(path):
    """rmdir depth-first: a cgroup directory goes only once it is empty."""
    for dirpath, dirnames, _ in os.walk(path, topdown=False):
        for name in dirnames:
            os.rmdir(os.path.join(dirpath, name))
    os.rmdir(path)


def tearDownModule():
    """Removes everything, then fails naming what should not have been left."""
    if ENV is None:
        return
    leftovers = []
    if ENV.process is not None and ENV.process.poll() is None:
        # The orderly way: what a user would do, through containerd. Most of
        # these fail because the test removed the container already.
        for container_id in ENV.containers:
            try:
                ctr("task", "kill", "-s", "KILL", container_id)
                ctr("task", "delete", "--force", container_id)
                ctr("containers", "delete", container_id)
            except subprocess.TimeoutExpired as error:
                leftovers.append(f"{container_id}: {error}")
    ENV.stop()
    if ENV.log_file:
        ENV.log_file.close()

    # Shims outlive containerd; one still running means a task was not
    # deleted. A shim exits on its own shortly after its task is deleted.
    ours = lambda: processes_mentioning(ENV.namespace) + processes_mentioning(ENV.tmp)
    wait_for(lambda: not ours(), timeout=5)
    for pid, cmdline in ours():
        leftovers.append(f"process {pid} still running: {cmdline}")
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    # Container state the runtime did not delete: the shim's --root is
    # <runc-root>/<namespace>.
    runtime_state = os.path.join(ENV.runc_root, ENV.namespace)
    if os.path.isdir(runtime_state):
        for container_id in os.listdir(runtime_state):
            leftovers.append(f"runtime state {runtime_state}/{container_id}")
            subprocess.run([RUNTIME, "--root", runtime_state, "delete", "--force", container_id],
                           capture_output=True, timeout=COMMAND_TIMEOUT)
    # Snapshots and bundles mounted under containerd's root and state.
    for mount_point in sorted(mounts_matching([ENV.tmp]), reverse=True):
        leftovers.append(f"mount {mount_point}")
        subprocess.run(["umount", "-l", mount_point], capture_output=True)
    # /<namespace> under each cgroup hierarchy is made for the containers'
    # /<namespace>/<id>: the namespace level is expected (no runtime removes
    # a parent it did not create alone), a container's cgroup is a leftover.
    for mount, _ in cgroup_mounts():
        group = os.path.join(mount, ENV.namespace)
        if not os.path.isdir(group):
            continue
        for name in os.listdir(group):
            if os.path.isdir(os.path.join(group, name)):
                leftovers.append(f"cgroup {group}/{name}")
        try:
            remove_cgroup_tree(group)
        except OSError as error:
            leftovers.append(f"cgroup {group} cannot be removed: {error}")
    # The shim makes /run/containerd/s (and /run/containerd) and does not
    # remove them: expected, and removed if we made them. A socket left in
    # them is a shim that did not exit cleanly.
    shim_socket_dir = RUN_CONTAINERD + "/s"
    before = ENV.run_containerd_before or set()
    if ENV.run_containerd_before is None:
        made_by_us = [shim_socket_dir, RUN_CONTAINERD]
    else:
        made_by_us = [] if shim_socket_dir in before else [shim_socket_dir]
    for path in sorted((Environment.snapshot_run_containerd() or set()) - before, reverse=True):
        if path == shim_socket_dir:
            continue
        leftovers.append(f"{path} was not there before the tests")
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)
    for path in made_by_us:
        if os.path.isdir(path):
            try:
                os.rmdir(path)
            except OSError as error:
                leftovers.append(f"{path} cannot be removed: {error}")
    shutil.rmtree(ENV.tmp, ignore_errors=True)
    if leftovers:
        raise AssertionError("the tests left behind (now removed):\n  " + "\n  ".join(leftovers))


# --- the checks -------------------------------------------------------------

def task_status(container_id):
    """The STATUS column of `ctr task ls` for the container, or None."""
    result = ctr("task", "ls")
    for line in result.stdout.splitlines()[1:]:
        fields = line.split()
        if fields and fields[0] == container_id:
            return fields[2]
    return None


def task_pid(container_id):
    result = ctr("task", "ls")
    for line in result.stdout.splitlines()[1:]:
        fields = line.split()
        if fields and fields[0] == container_id:
            return int(fields[1])
    return None


def wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def process_alive(pid):
    """True while pid runs: a zombie has exited, waiting for its parent."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def share_mount():
    """ctr run's flags that bind ENV.share to the container's /share."""
    return ["--mount", f"type=bind,src={ENV.share},dst=/share,options=rbind:rw"]


def read_shared(name):
    try:
        with open(os.path.join(ENV.share, name)) as f:
            return f.read()
    except FileNotFoundError:
        return None


class ContainerdTest(unittest.TestCase):
    def run_argv(self, container_id, *command, image=IMAGE, flags=(), cpu_shares=NO_CPU_SHARES):
        return ENV.ctr_argv("run", *runtime_flags(), *cpu_shares, *flags, image, container_id,
                            *command)

    def ctr_run(self, container_id, *command, stdin_text=None, **argv_options):
        """`ctr run`, its stdin stdin_text or /dev/null."""
        stdin = {"input": stdin_text} if stdin_text is not None else {"stdin": subprocess.DEVNULL}
        return subprocess.run(self.run_argv(container_id, *command, **argv_options), **stdin,
                              capture_output=True, text=True, timeout=COMMAND_TIMEOUT)

    def test_ctr_default_cpu_shares(self):
        container_id = new_id("shares")
        result = self.ctr_run(container_id, "sh", "-c", f"echo shares-ok; {LINGER}", flags=["--rm"],
                              cpu_shares=())
        if runtime_is_runc() or "cpu" in cgroup2_controllers():
            self.assertEqual(result.returncode, 0, describe(result))
            self.assertEqual(result.stdout, "shares-ok\n", describe(result))
            return
        # berth refuses before the container runs, and says why, through ctr.
        self.assertNotEqual(result.returncode, 0, describe(result))
        self.assertIn('OCI runtime create failed: linux.resources.cpu.shares: needs the cgroup v2 '
                      '"cpu" controller', result.stderr, describe(result))
        ctr("containers", "delete", container_id)

    def test_run_rm_prints_output_and_returns_exit_code(self):
        container_id = new_id("run-rm")
        result = self.ctr_run(container_id, "sh", "-c", f"echo hi; echo oops >&2; {LINGER}; exit 3",
                              flags=["--rm"])
        self.assertEqual(result.returncode, 3, describe(result))
        self.assertEqual(result.stdout, "hi\n", describe(result))
        self.assertEqual(result.stderr, "oops\n", describe(result))
        # --rm removed the container, and the shim deleted the runtime's.
        self.assertNotIn(container_id, ctr("containers", "ls", "-q").stdout.split())
        self.assertFalse(os.path.exists(os.path.join(ENV.runc_root, ENV.namespace, container_id)))

    def test_run_passes_stdin_env_and_cwd(self):
        container_id = new_id("run-stdin")
        script = 'read line; echo "$line $GREETING $(pwd)"; ' + LINGER
        result = self.ctr_run(container_id, "sh", "-c", script,
                              flags=["--rm", "--env", "GREETING=hello", "--cwd", "/tmp"],
                              stdin_text="from-stdin\n")
        self.assertEqual(result.returncode, 0, describe(result))
        self.assertEqual(result.stdout, "from-stdin hello /tmp\n", describe(result))

    def test_run_tty_gives_the_process_a_terminal(self):
        container_id = new_id("run-tty")
        result = under_pty(self.run_argv(
            container_id, "sh", "-c",
            f"tty; test -t 0 && test -t 1 && echo on-a-tty; {LINGER}; exit 4",
            flags=["--rm", "-t"]))
        self.assertEqual(result.returncode, 4, describe(result))
        self.assertIn("/dev/pts/", result.stdout, describe(result))
        self.assertIn("on-a-tty", result.stdout, describe(result))

    def test_detached_task_exec_ps_pause_resume_and_term(self):
        container_id = new_id("detached")
        # Init counts into /share/count until SIGTERM, which it traps.
        script = ("trap 'echo term > /share/got-term; exit 7' TERM; i=0; "
                  "while :; do i=$((i+1)); echo $i > /share/count; sleep 0.05; done")
        result = self.ctr_run(container_id, "sh", "-c", script, flags=["-d", *share_mount()])
        self.assertEqual(result.returncode, 0, describe(result))
        self.assertTrue(wait_for(lambda: read_shared("count")), "init never wrote /share/count")
        self.assertEqual(task_status(container_id), "RUNNING", ctr("task", "ls").stdout)
        init_pid = task_pid(container_id)

        with self.subTest("exec in the foreground: output and exit status"):
            result = ctr(*exec_args(container_id, "fg", "sh", "-c",
                                    f"echo from-exec; echo exec-err >&2; {LINGER}; exit 5"))
            self.assertEqual(result.returncode, 5, describe(result))
            self.assertEqual(result.stdout, "from-exec\n", describe(result))
            self.assertEqual(result.stderr, "exec-err\n", describe(result))

        with self.subTest("exec --user --cwd: the process JSON the shim writes"):
            result = ctr(*exec_args(container_id, "user", "sh", "-c",
                                    'echo "$(id -u):$(id -g) $(pwd)"; ' + LINGER,
                                    flags=["--user", "1000:1001", "--cwd", "/tmp"]))
            self.assertEqual(result.returncode, 0, describe(result))
            self.assertEqual(result.stdout, "1000:1001 /tmp\n", describe(result))

        with self.subTest("exec --detach"):
            result = ctr(*exec_args(container_id, "bg", "sh", "-c",
                                    "echo $$ > /share/detached-pid; exec sleep 60",
                                    flags=["--detach"]))
            self.assertEqual(result.returncode, 0, describe(result))
            self.assertTrue(wait_for(lambda: read_shared("detached-pid")),
                            "the detached exec never wrote /share/detached-pid")

        with self.subTest("exec -t"):
            result = under_pty(ENV.ctr_argv(
                *exec_args(container_id, "tty", "sh", "-c", f"tty; {LINGER}; exit 6",
                           flags=["-t"])))
            self.assertEqual(result.returncode, 6, describe(result))
            self.assertIn("/dev/pts/", result.stdout, describe(result))

        with self.subTest("ps lists init and the detached exec"):
            result = ctr("task", "ps", container_id)
            self.assertEqual(result.returncode, 0, describe(result))
            pids = [int(line.split()[0]) for line in result.stdout.splitlines()[1:] if line.strip()]
            self.assertIn(init_pid, pids, describe(result))
            self.assertGreaterEqual(len(pids), 2, describe(result))

        with self.subTest("checkpoint is refused, and the task runs on"):
            result = ctr("task", "checkpoint", container_id)
            self.assertNotEqual(result.returncode, 0, describe(result))
            if runtime_is_runc():
                # runc fails differently: it runs CRIU, which is not installed.
                self.assertIn("CRIU", result.stderr, describe(result))
            else:
                self.assertIn("checkpoint is not supported", result.stderr, describe(result))
            self.assertEqual(task_status(container_id), "RUNNING")

        with self.subTest("pause stops the counter, resume restarts it"):
            result = ctr("task", "pause", container_id)
            self.assertEqual(result.returncode, 0, describe(result))
            self.assertEqual(task_status(container_id), "PAUSED")
            frozen = read_shared("count")
            time.sleep(0.3)
            self.assertEqual(read_shared("count"), frozen, "the counter moved while paused")
            result = ctr("task", "resume", container_id)
            self.assertEqual(result.returncode, 0, describe(result))
            self.assertEqual(task_status(container_id), "RUNNING")
            self.assertTrue(wait_for(lambda: read_shared("count") != frozen, timeout=5),
                            "the counter did not move after resume")

        with self.subTest("kill TERM runs init's trap"):
            result = ctr("task", "kill", "--signal", "TERM", container_id)
            self.assertEqual(result.returncode, 0, describe(result))
            self.assertTrue(wait_for(lambda: task_status(container_id) == "STOPPED"),
                            ctr("task", "ls").stdout)
            self.assertEqual(read_shared("got-term"), "term\n")

        # ctr task delete reports a non-zero status as a warning.
        result = ctr("task", "delete", container_id)
        self.assertEqual(result.returncode, 0, describe(result))
        self.assertIn("exit with non-zero exit code 7", result.stderr, describe(result))
        self.assertIsNone(task_status(container_id))
        self.assertFalse(os.path.exists(os.path.join(ENV.runc_root, ENV.namespace, container_id)))
        result = ctr("containers", "delete", container_id)
        self.assertEqual(result.returncode, 0, describe(result))

    def test_kill_with_sigkill_then_delete(self):
        container_id = new_id("kill")
        # Init ignores TERM: only KILL ends it.
        result = self.ctr_run(container_id, "sh", "-c", "trap '' TERM; while :; do sleep 1; done",
                              flags=["-d"])
        self.assertEqual(result.returncode, 0, describe(result))
        self.assertEqual(task_status(container_id), "RUNNING")
        result = ctr("task", "kill", "--signal", "KILL", container_id)
        self.assertEqual(result.returncode, 0, describe(result))
        self.assertTrue(wait_for(lambda: task_status(container_id) == "STOPPED"),
                        ctr("task", "ls").stdout)
        result = ctr("task", "delete", container_id)
        self.assertEqual(result.returncode, 0, describe(result))
        self.assertIn(f"exit with non-zero exit code {128 + signal.SIGKILL}", result.stderr,
                      describe(result))
        result = ctr("containers", "delete", container_id)
        self.assertEqual(result.returncode, 0, describe(result))

    def test_init_children_killed_when_init_exits_in_a_shared_pid_namespace(self):
        container_id = new_id("sharedpid")
        # In the test's pid namespace nothing kills init's children when it
        # exits; the shim asks the runtime to, with `kill --all ID 9`, before
        # the task is deleted.
        script = "sleep 60 </dev/null >/dev/null 2>&1 & echo $! > /share/child-pid; exit 2"
        result = self.ctr_run(container_id, "sh", "-c", script,
                              flags=["-d", "--with-ns", f"pid:/proc/{os.getpid()}/ns/pid",
                                     *share_mount()])
        self.assertEqual(result.returncode, 0, describe(result))
        self.assertTrue(wait_for(lambda: task_status(container_id) == "STOPPED"),
                        ctr("task", "ls").stdout)
        child = int(read_shared("child-pid"))
        self.assertTrue(wait_for(lambda: not process_alive(child), timeout=5),
                        f"init's child {child} still runs after init exited")
        result = ctr("task", "delete", container_id)
        self.assertIn("exit with non-zero exit code 2", result.stderr, describe(result))
        result = ctr("containers", "delete", container_id)
        self.assertEqual(result.returncode, 0, describe(result))

    def test_missing_entrypoint_shows_the_runtime_error(self):
        container_id = new_id("broken")
        result = self.ctr_run(container_id, image=BROKEN_IMAGE, flags=["--rm"])
        self.assertNotEqual(result.returncode, 0, describe(result))
        # The shim reports the last error line of the runtime's log.json.
        self.assertIn('OCI runtime create failed: ', result.stderr, describe(result))
        self.assertIn(f'exec: "{MISSING_ENTRYPOINT}": ', result.stderr, describe(result))
        # runc's words are Go's ("exec: ...: stat ...: no such file or
        # directory"), berth's strerror's ("No such file or directory").
        self.assertIn("no such file or directory", result.stderr.lower(), describe(result))
        # ctr run --rm does not delete a container whose task never started.
        ctr("containers", "delete", container_id)


def main():
    global RUNTIME
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", required=True,
                        help="the runtime binary ctr passes to the shim (--runc-binary)")
    args, rest = parser.parse_known_args()
    RUNTIME = os.path.abspath(args.runtime)
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()
