"""Run untrusted Python (model-written code) in a sandbox: ``run_python(code, limits=...) -> SandboxResult``.

The code runs as a separate process tree built from util-linux ``unshare`` and Linux namespaces, with
these layers (``SandboxResult.isolation`` names the ones a run used):

- **namespaces** (``unshare``): a new network namespace (only a loopback that is down: no TCP/UDP, no
  abstract unix sockets of the host), pid namespace (the code sees only its own processes; when its
  pid 1 exits or is killed the kernel kills every process in it, so a fork bomb or a daemonised child
  cannot outlive the run), mount namespace (with private propagation: nothing below reaches the host),
  IPC and UTS namespaces.
- **filesystem**: the whole inherited mount tree is made read-only and nosuid (``mount_setattr``,
  Linux >= 5.12). Fresh size-limited tmpfs are mounted on ``/tmp`` (the working directory is
  ``/tmp/work``), ``/var/tmp`` and ``/dev/shm``: they exist only in the sandbox's mount namespace, so
  they are gone with it. ``/dev`` is replaced by a minimal one (null, zero, full, random, urandom).
  ``/run``, ``/root``, ``/home`` and ``$HOME`` are hidden under empty read-only tmpfs (no user files,
  tokens, or sockets such as docker's), except the interpreter's own prefix when it lives there.
- **identity**: as root, the code runs as uid/gid 65534 (nobody) with no supplementary groups; as an
  unprivileged user, a user namespace maps the user to root inside it, which is what lets it set up the
  mounts above (and nested user namespaces are switched off in it). Either way the code has no
  capabilities (bounding set emptied, ``SECBIT_NOROOT``) and ``no_new_privs`` (setuid binaries gain
  nothing).
- **limits**: RLIMIT_CPU, RLIMIT_AS (memory), RLIMIT_FSIZE (file size), RLIMIT_NOFILE, RLIMIT_NPROC,
  RLIMIT_CORE = 0; a wall-clock timeout after which the sandbox's pid 1 is SIGKILLed (and with it the
  whole pid namespace); stdout and stderr are captured up to a cap, past which the run is killed.
  RLIMIT_NPROC is what stops a fork bomb: as root it binds because the code runs as nobody (it then
  counts all of nobody's tasks on the machine, so concurrent sandboxes share it); in a user namespace
  the kernel counts it per namespace (Linux >= 5.14). A per-run cgroup v1 ``pids`` group would work as
  root too, but moving a process into it costs ~8 ms per run and adds no containment here.
- **environment**: empty (no inherited variables, so no secrets from ``os.environ``); the interpreter
  runs with ``-I -S`` (no PYTHON* variables, no site-packages: the standard library only).

Availability is probed at run time (``isolation_mode``). Where a layer cannot be set up (no ``unshare``,
namespaces forbidden, an old kernel), the code is NOT run: ``SandboxUnavailable`` is raised with the
reason. The sandbox's pid 1 also checks that it really is in new pid, mount and network namespaces
before it touches a mount, and reports "ready" over a private pipe only just before it execs the
code, so a run that did not get every layer never executes anything.

Not isolated, or only partly:

- Reads: the code can read whatever its identity may read outside the hidden paths (as nobody:
  world-readable files, e.g. a project checkout and ``/etc``; in a user namespace: the user's files
  outside the home directory, with the user's supplementary groups, which a user namespace cannot
  drop). Keep secrets in files that are not world-readable, or in the home directory.
- Memory is bounded per process (RLIMIT_AS), not per sandbox: without a memory cgroup, up to
  ``processes`` x ``memory_bytes`` (plus 3 x ``tmp_bytes`` of tmpfs) can be committed at once.
- CPU: RLIMIT_CPU is per process and the wall-clock timeout bounds the total, but no CPU share is
  set: until it is killed a run can load every core.
- As root, RLIMIT_NPROC counts every task of uid 65534 on the machine: other sandboxes running at
  the same time, or daemons running as nobody, use up the same budget (a run whose code cannot even
  start for that reason raises SandboxUnavailable).
- As root, the code may create a user namespace of its own (nobody may): it gets capabilities there,
  but the mounts it inherits are locked (it cannot remount them writable nor unmount a mask; checked),
  so this only widens the kernel attack surface. There is no seccomp filter and no VM: the kernel is
  shared, and a kernel exploit escapes.
- ``/proc`` and ``/sys`` are visible read-only (kernel version, CPU and memory totals, the host's
  network device names).
- Filesystem sockets outside the hidden paths stay reachable where their permissions allow.
- The interpreter runs with ``-S``: no site-packages, and no ``exit()``/``quit()`` builtins (use
  ``sys.exit``). An interpreter installed below ``/tmp``, ``/var/tmp`` or ``/dev/shm`` is hidden by
  the private tmpfs, so runs are then unavailable.
"""

from __future__ import annotations

import os
import sys

# --------------------------------------------------------------------------------------------------
# Inside the sandbox. ``run_python`` starts this file as a script, as pid 1 of the new namespaces;
# it uses only os, sys, ctypes and resource so that it starts in a few milliseconds.
# --------------------------------------------------------------------------------------------------

NOBODY = 65534
WORK_DIR = "/tmp/work"
_DEVICES = ("null", "zero", "full", "random", "urandom")

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18


class _Kernel:
    """The few syscalls the standard library lacks (mount, mount_setattr, prctl), through ctypes."""

    def __init__(self) -> None:
        import ctypes

        self.ctypes = ctypes
        self.libc = ctypes.CDLL(None, use_errno=True)

    def _check(self, ret: int, what: str) -> None:
        if ret != 0:
            errno = self.ctypes.get_errno()
            raise OSError(errno, f"{what}: {os.strerror(errno)}")

    def mount(self, source: str, target: str, fstype: str, flags: int, data: str = "") -> None:
        c = self.ctypes
        ret = self.libc.mount(source.encode(), target.encode(), fstype.encode(), c.c_ulong(flags), data.encode())
        self._check(ret, f"mount {target}")

    def remount_tree_readonly(self, path: str) -> None:
        # struct mount_attr {u64 attr_set, attr_clr, propagation, userns_fd}; 442 = mount_setattr on the
        # architectures below (the unified syscall table); elsewhere 442 may be another syscall
        c = self.ctypes
        if os.uname().machine not in ("x86_64", "aarch64", "i686", "i386", "riscv64", "ppc64le", "s390x"):
            raise OSError(f"mount_setattr: syscall number unknown on {os.uname().machine}")
        attr = (c.c_uint64 * 4)(0x1 | 0x2, 0, 0, 0)  # MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID
        at_fdcwd, at_recursive = -100, 0x8000
        ret = self.libc.syscall(442, c.c_int(at_fdcwd), path.encode(), c.c_uint(at_recursive), c.byref(attr),
                                c.c_size_t(c.sizeof(attr)))  # fmt: skip
        self._check(ret, "mount_setattr (read-only /, needs Linux >= 5.12)")

    def prctl(self, option: int, arg: int, what: str) -> int:
        c = self.ctypes
        ret = self.libc.prctl(c.c_int(option), c.c_ulong(arg), c.c_ulong(0), c.c_ulong(0), c.c_ulong(0))
        if ret < 0:
            self._check(ret, what)
        return ret


def _parse_args(argv: list[str]) -> dict[str, str]:
    return dict(arg.split("=", 1) for arg in argv)


def _check_namespaces(cfg: dict[str, str]) -> None:
    """Refuse to touch any mount unless unshare really gave us new namespaces (a broken or fake
    ``unshare`` must not lead to remounting the host's root read-only, nor to running the code)."""
    if os.getpid() != 1:
        raise RuntimeError(f"not pid 1 of a new pid namespace (pid {os.getpid()})")
    for ns in ("mnt", "net"):
        if os.readlink(f"/proc/self/ns/{ns}") == cfg[f"host_{ns}"]:
            raise RuntimeError(f"not in a new {ns} namespace")


def _build_filesystem(k: _Kernel, cfg: dict[str, str], uid: int) -> None:
    tmp_opts = f"size={cfg['tmp_bytes']},nr_inodes=4096,mode=1777"
    # Open what must stay reachable before anything is hidden; bind mounts take them from /proc/self/fd.
    devices = {name: os.open(f"/dev/{name}", os.O_PATH) for name in _DEVICES}
    exposed = {p: os.open(p, os.O_PATH) for p in cfg["expose"].split(os.pathsep) if p and os.path.isdir(p)}

    k.mount("none", "/", "", MS_REC | MS_PRIVATE)  # unshare does this too; be sure nothing propagates out
    if cfg["mode"] == "userns":  # no nested user namespaces (the limit is our namespace's own, not the host's)
        with open("/proc/sys/user/max_user_namespaces", "w") as f:
            f.write("0")
    k.remount_tree_readonly("/")

    # A minimal /dev, read-only, with its own writable /dev/shm.
    k.mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,nr_inodes=64,mode=755")
    for name, fd in devices.items():
        open(f"/dev/{name}", "w").close()
        k.mount(f"/proc/self/fd/{fd}", f"/dev/{name}", "", MS_BIND)
        os.close(fd)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):  # fmt: skip
        os.symlink(target, f"/dev/{name}")
    os.mkdir("/dev/shm")
    k.mount("none", "/dev", "", MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC)
    for path in ("/tmp", "/var/tmp", "/dev/shm"):
        if os.path.isdir(path):
            k.mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, tmp_opts)

    # Hide homes and /run under empty read-only tmpfs; put the interpreter back where it was.
    masked: list[str] = []
    for path in sorted(p for p in cfg["mask"].split(os.pathsep) if p):
        if not os.path.isdir(path) or path == "/" or any(path.startswith(m + "/") for m in masked):
            continue
        k.mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,nr_inodes=256,mode=755")
        for keep, fd in exposed.items():
            if keep.startswith(path + "/"):
                os.makedirs(keep, exist_ok=True)
                k.mount(f"/proc/self/fd/{fd}", keep, "", MS_BIND | MS_REC)
        k.mount("none", path, "", MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
        masked.append(path)
    for fd in exposed.values():
        os.close(fd)

    os.mkdir(WORK_DIR, 0o700)
    os.chown(WORK_DIR, uid, uid)


def _drop_privileges(k: _Kernel, cfg: dict[str, str]) -> None:
    import resource

    limits = {
        resource.RLIMIT_CPU: (int(cfg["cpu_s"]), int(cfg["cpu_s"]) + 1),  # soft: SIGXCPU, hard: SIGKILL
        resource.RLIMIT_AS: (int(cfg["memory_bytes"]),) * 2,
        resource.RLIMIT_FSIZE: (int(cfg["file_bytes"]),) * 2,
        resource.RLIMIT_NOFILE: (int(cfg["open_files"]),) * 2,
        resource.RLIMIT_NPROC: (int(cfg["processes"]),) * 2,
        resource.RLIMIT_CORE: (0, 0),
    }
    for which, (soft, hard) in limits.items():
        resource.setrlimit(which, (soft, hard))
    # No capabilities can come back: empty bounding set, uid 0 gets no implicit capabilities on exec.
    cap = 0
    while cap < 64 and k.libc.prctl(24, cap, 0, 0, 0) == 0:  # PR_CAPBSET_DROP until EINVAL past the last cap
        cap += 1
    noroot, noroot_locked, keep_caps_locked, no_ambient, no_ambient_locked = 1, 2, 32, 64, 128
    k.prctl(28, noroot | noroot_locked | keep_caps_locked | no_ambient | no_ambient_locked, "PR_SET_SECUREBITS")
    if cfg["mode"] == "root":
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)  # clears every capability (KEEP_CAPS is off and locked)
        if os.getuid() != NOBODY or os.getgroups():
            raise RuntimeError("could not drop to nobody")
    k.prctl(38, 1, "PR_SET_NO_NEW_PRIVS")


def _sandbox_init(argv: list[str]) -> None:
    """pid 1 of the sandbox: set up the filesystem, start the code as pid 2 without privileges, wait.

    Status lines on the private pipe: ``R`` just before exec (the code runs), ``E <why>`` if set-up
    failed (the code did not run), ``X <wait status> <cpu seconds>`` when the code has exited.
    """
    cfg = _parse_args(argv)
    status_fd = int(cfg["status_fd"])
    os.set_inheritable(status_fd, False)
    try:
        code = sys.stdin.buffer.read()
        _check_namespaces(cfg)
        uid = NOBODY if cfg["mode"] == "root" else 0
        k = _Kernel()
        _build_filesystem(k, cfg, uid)
        with open(f"{WORK_DIR}/candidate.py", "wb") as f:
            f.write(code)
        os.chown(f"{WORK_DIR}/candidate.py", uid, uid)
        devnull = os.open("/dev/null", os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
    except Exception as exc:  # report any set-up failure; the code is not run
        os.write(status_fd, f"E {type(exc).__name__}: {exc}\n".encode())
        os._exit(125)

    child = os.fork()
    if child == 0:
        try:
            _drop_privileges(k, cfg)
            os.chdir(WORK_DIR)
            os.write(status_fd, b"R\n")
            os.execve(cfg["python"], [cfg["python"], "-I", "-S", "candidate.py"], {})
        except BaseException as exc:
            os.write(status_fd, f"E could not start the code: {type(exc).__name__}: {exc}\n".encode())
        os._exit(125)
    while True:  # reap everything (orphans are re-parented to us) until the code's own process exits
        pid, status, usage = os.wait3(0)
        if pid == child:
            os.write(status_fd, f"X {status} {usage.ru_utime + usage.ru_stime:.3f}\n".encode())
            os._exit(0)  # the kernel now kills whatever the code left behind in the pid namespace


if __name__ == "__main__":
    _sandbox_init(sys.argv[1:])

# --------------------------------------------------------------------------------------------------
# Host side.
# --------------------------------------------------------------------------------------------------

import contextlib  # noqa: E402  (below the init above, which must start without these)
import functools  # noqa: E402
import selectors  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402

UNSHARE = shutil.which("unshare") or "/usr/bin/unshare"
_NAMESPACE_FLAGS = ("--net", "--pid", "--fork", "--kill-child", "--mount-proc", "--mount", "--ipc", "--uts")


class SandboxUnavailable(RuntimeError):
    """The isolation could not be set up; the code was not run."""


@dataclass(frozen=True)
class Limits:
    """What one run may use. The rlimits apply to each process of the run."""

    wall_s: float = 10.0
    cpu_s: int = 5
    memory_bytes: int = 512 * 1024**2  # address space per process
    output_bytes: int = 64 * 1024  # captured per stream; more kills the run
    file_bytes: int = 8 * 1024**2  # largest file the code may write
    open_files: int = 64
    processes: int = 16  # tasks (processes and threads) of the sandbox identity
    tmp_bytes: int = 32 * 1024**2  # each of /tmp, /var/tmp, /dev/shm


@dataclass(frozen=True)
class SandboxResult:
    """How a run ended; stdout and stderr are decoded as UTF-8 and cut at ``Limits.output_bytes``."""

    returncode: int  # negative: killed by that signal (-9 also when the sandbox killed it)
    stdout: str
    stderr: str
    timed_out: bool  # the wall-clock limit was hit
    killed_reason: str | None  # why the run was cut short, if it was
    isolation: tuple[str, ...]  # the layers this run used
    cpu_s: float
    wall_s: float
    output_truncated: bool


@functools.cache
def _python() -> str:
    """The base interpreter (not a venv's launcher): the sandbox runs it with -I -S."""
    return os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)


_SYSTEM_DIRS = {"/", "/usr", "/etc", "/bin", "/sbin", "/lib", "/lib64", "/opt", "/var", "/proc", "/sys", "/dev"}


def _masked_paths() -> list[str]:
    """Paths to hide: homes (tokens, keys, caches) and /run (sockets), but never a system directory."""
    homes = {"/run", "/root", "/home", os.path.expanduser("~")}
    try:
        import pwd

        homes.add(pwd.getpwuid(os.getuid()).pw_dir)
    except (ImportError, KeyError):
        pass
    return sorted(h for h in homes if h.startswith("/") and os.path.normpath(h) not in _SYSTEM_DIRS)


def _exposed_paths() -> list[str]:
    """The interpreter's installation, to bind back if a hidden path (a home) contains it."""
    paths = sorted({os.path.realpath(sys.base_prefix), os.path.realpath(sys.base_exec_prefix),
                    os.path.dirname(_python())})  # fmt: skip
    return [p for p in paths if not any(p.startswith(q + "/") for q in paths)]


def _unshare_argv(mode: str) -> list[str]:
    userns = ["--user", "--map-root-user"] if mode == "userns" else []
    return [UNSHARE, *userns, *_NAMESPACE_FLAGS]


def _kill_sandbox(proc: subprocess.Popen) -> None:
    """SIGKILL the sandbox's pid 1 (unshare's only child): the kernel then kills its whole pid namespace,
    and unshare exits once the namespace is empty. If pid 1 does not exist yet, kill unshare itself
    (``--kill-child`` makes the kernel kill pid 1 with it)."""
    try:
        with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
            children = f.read().split()
    except OSError:
        children = []
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)
    if not children:
        proc.kill()


def _collect(proc: subprocess.Popen, status_r: int, limits: Limits, started: float) -> tuple[list[bytes], str | None]:
    """Read stdout, stderr and the status pipe until all are closed, killing the sandbox at the wall-clock
    or output limit. Returns the three byte strings (output capped) and why the run was killed, if it was."""
    streams = {proc.stdout.fileno(): bytearray(), proc.stderr.fileno(): bytearray(), status_r: bytearray()}
    killed_reason = None
    deadline = started + limits.wall_s
    with selectors.DefaultSelector() as sel:
        for fd in streams:
            sel.register(fd, selectors.EVENT_READ)
        while sel.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0 and killed_reason is None:
                killed_reason = f"wall-clock limit ({limits.wall_s:g} s)"
                _kill_sandbox(proc)
            if remaining <= -5:  # killed, yet the pipes stay open: stop waiting for them
                proc.kill()
                break
            for key, _ in sel.select(max(remaining, 0.05) if killed_reason is None else 0.1):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    sel.unregister(key.fd)
                    continue
                buf = streams[key.fd]
                room = len(chunk) if key.fd == status_r else limits.output_bytes - len(buf)
                buf += chunk[: max(room, 0)]
                if len(chunk) > room and killed_reason is None:
                    killed_reason = f"output limit ({limits.output_bytes} bytes)"
                    _kill_sandbox(proc)
    return [bytes(b) for b in streams.values()], killed_reason


def _run(code: str, limits: Limits, mode: str) -> SandboxResult:
    started = time.monotonic()
    status_r, status_w = os.pipe()
    cfg = {
        "status_fd": status_w,
        "mode": mode,
        "python": _python(),
        "host_mnt": os.readlink("/proc/self/ns/mnt"),
        "host_net": os.readlink("/proc/self/ns/net"),
        "mask": os.pathsep.join(_masked_paths()),
        "expose": os.pathsep.join(_exposed_paths()),
        "cpu_s": limits.cpu_s,
        "memory_bytes": limits.memory_bytes,
        "file_bytes": limits.file_bytes,
        "open_files": limits.open_files,
        "processes": limits.processes,
        "tmp_bytes": limits.tmp_bytes,
    }
    argv = [*_unshare_argv(mode), "--", _python(), "-I", "-S", os.path.abspath(__file__)]
    argv += [f"{key}={value}" for key, value in cfg.items()]
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                pass_fds=(status_w,), env={}, cwd="/", start_new_session=True)  # fmt: skip
    except OSError as exc:
        os.close(status_r)
        raise SandboxUnavailable(f"cannot start {UNSHARE}: {exc}") from exc
    finally:
        os.close(status_w)
    with proc:  # closes the pipes and waits for unshare, which exits once the pid namespace is empty
        try:
            try:
                proc.stdin.write(code.encode(errors="replace"))  # pid 1 reads it all before anything else
                proc.stdin.close()
            except BrokenPipeError:  # the sandbox died before reading the code: reported below
                pass
            (stdout, stderr, status), killed_reason = _collect(proc, status_r, limits, started)
        except BaseException:  # e.g. KeyboardInterrupt: do not leave the code running
            _kill_sandbox(proc)
            raise
        finally:
            os.close(status_r)

    lines = status.decode(errors="replace").splitlines()
    if "R" not in lines or any(line.startswith("E ") for line in lines):  # the code was never started
        why = next((line[2:] for line in lines if line.startswith("E ")), None)
        why = why or (stderr.decode(errors="replace").strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        raise SandboxUnavailable(why if killed_reason is None else f"{killed_reason} during set-up: {why}")

    exited = next((line.split() for line in lines if line.startswith("X ")), None)
    returncode = os.waitstatus_to_exitcode(int(exited[1])) if exited else -signal.SIGKILL
    cpu_s = float(exited[2]) if exited else 0.0
    if killed_reason is None and returncode < 0:
        sig = -returncode
        cpu_hit = sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu_s >= limits.cpu_s)
        try:
            name = signal.Signals(sig).name
        except ValueError:  # e.g. a real-time signal without a name
            name = f"signal {sig}"
        killed_reason = f"CPU time limit ({limits.cpu_s} s)" if cpu_hit else f"killed by {name}"
    err = stderr.decode(errors="replace")
    if killed_reason and not exited:  # unshare's own complaint about its child's SIGKILL is not the code's output
        err = "".join(ln for ln in err.splitlines(keepends=True) if not ln.startswith("unshare: "))
    return SandboxResult(returncode=returncode, stdout=stdout.decode(errors="replace"), stderr=err,
                         timed_out=killed_reason is not None and killed_reason.startswith("wall-clock"),
                         killed_reason=killed_reason, isolation=_layers(mode), cpu_s=cpu_s,
                         wall_s=time.monotonic() - started,
                         output_truncated=killed_reason is not None and killed_reason.startswith("output"))  # fmt: skip


def _layers(mode: str) -> tuple[str, ...]:
    identity = ("uid 65534, no groups",) if mode == "root" else ("user namespace, no nested ones",)
    return ("net namespace", "pid namespace", "mount namespace", "ipc+uts namespaces", "read-only /",
            "private tmpfs", "minimal /dev", "hidden homes and /run", *identity, "no capabilities", "no_new_privs",
            "rlimits", "empty environment")  # fmt: skip


def _diagnose(mode: str) -> str:
    """Which unshare step fails, for a readable reason."""
    userns = ["--user", "--map-root-user"] if mode == "userns" else []
    steps = [(userns, "unshare --user")] if userns else []
    steps += [([*userns, "--net"], "unshare --net"), ([*userns, "--pid", "--fork", "--mount-proc"], "unshare --pid"),
              ([*userns, "--mount"], "unshare --mount")]  # fmt: skip
    for flags, name in steps:
        try:
            proc = subprocess.run([UNSHARE, *flags, "--", _python(), "-I", "-S", "-c", ""], capture_output=True,
                                  text=True, timeout=10, env={})  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{name} failed: {exc}"
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
            return f"{name} failed: {last}"
    return ""


@functools.cache
def _probe(unshare: str, euid: int) -> tuple[str, str]:
    """(mode, problem); cached per unshare path and user, so that pointing UNSHARE elsewhere probes again."""
    mode = "root" if euid == 0 else "userns"
    if sys.platform != "linux":
        return mode, f"needs Linux namespaces (this is {sys.platform})"
    try:
        result = _run("print('ok')", Limits(wall_s=20), mode)
    except (SandboxUnavailable, OSError) as exc:
        return mode, _diagnose(mode) or str(exc)
    if result.returncode != 0 or result.stdout.strip() != "ok":
        return mode, f"probe run failed (exit {result.returncode}): {result.stderr.strip()[-200:]}"
    return mode, ""


def isolation_mode() -> str:
    """``root`` (namespaces, then nobody) or ``userns`` (a user namespace); raises SandboxUnavailable.

    Probed once per process with a trivial run."""
    mode, problem = _probe(UNSHARE, os.geteuid())
    if problem:
        raise SandboxUnavailable(problem)
    return mode


def run_python(code: str, *, limits: Limits = Limits()) -> SandboxResult:
    """Run ``code`` as a Python script in the sandbox; raises SandboxUnavailable (code not run)."""
    return _run(code, limits, isolation_mode())
