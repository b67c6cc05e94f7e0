"""The code that runs inside the sandbox container (standard library only, Python 3.9+).

The host sends this file's source to the container's ``python3`` (see
:mod:`claude_like.sandbox.docker_shell`), with one of three roles:

``init LIMIT``
    The container's PID 1: reaps orphans (so killed trees leave no zombies holding the
    pids limit) and, without forking, kills on SIGUSR1 every process but itself, the
    launchers and their shells, the last resort when a fork bomb has used every pid.
    It also sweeps by itself when the processes stay near the pids limit. It makes itself
    non-dumpable, so that nothing in the container can read its memory or environment.
``launch HEX_ARGV...``
    Starts every shell and every ``run_program`` program: installs the seccomp filter
    below, becomes a child subreaper (an orphan of its tree, even one that ran ``setsid``
    or ``nohup``, is re-parented to it, never escapes to PID 1), prints
    ``__CL_PID <program pid> <launcher pid>`` and starts the program in a new session.
    SIGUSR1 interrupts the program (SIGUSR1 to it) and kills everything else below the
    launcher; SIGUSR2 kills the whole tree and exits. When the program ends, whatever it
    left running is killed too.
``kill PID SIGNAL``
    Sends SIGNAL to launcher PID, and kills whatever escaped every launcher (a process
    whose launcher was killed is re-parented to PID 1).

The seccomp filter, stacked on Docker's default profile, refuses what the capabilities
alone do not: setting set-uid/set-gid bits (``chmod``, ``fchmod``, ``fchmodat``,
``fchmodat2``, and creating files or folders with those bits; a set-uid file left in the
user's project could be run on the host), ``ptrace`` and ``process_vm_readv/writev``
(reading or steering another process, such as a launcher), and ``openat2`` and
``io_uring_setup``, whose arguments a filter cannot inspect (programs fall back to
``openat``).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import platform
import signal
import struct
import sys
import time

PID_MARK = "__CL_PID"
PR_SET_DUMPABLE = 4
PR_SET_SECCOMP = 22
PR_SET_CHILD_SUBREAPER = 36
SECCOMP_MODE_FILTER = 2
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000
SETID_BITS = 0o6000

# Per architecture: audit arch, then syscall -> index of the mode argument (None: refuse).
SYSCALLS = {
    "x86_64": (
        0xC000003E,
        {
            "chmod": (90, 1), "fchmod": (91, 1), "fchmodat": (268, 2), "fchmodat2": (452, 2),
            "open": (2, 2), "openat": (257, 3), "creat": (85, 1), "mkdir": (83, 1),
            "mkdirat": (258, 2), "mknod": (133, 1), "mknodat": (259, 2),
            "ptrace": (101, None), "process_vm_readv": (310, None),
            "process_vm_writev": (311, None), "openat2": (437, None),
            "io_uring_setup": (425, None),
        },
    ),
    "aarch64": (
        0xC00000B7,
        {
            "fchmod": (52, 1), "fchmodat": (53, 2), "fchmodat2": (452, 2),
            "openat": (56, 3), "mkdirat": (34, 2), "mknodat": (33, 2),
            "ptrace": (117, None), "process_vm_readv": (270, None),
            "process_vm_writev": (271, None), "openat2": (437, None),
            "io_uring_setup": (425, None),
        },
    ),
}
X32_BIT = 0x40000000


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def seccomp_program(machine: str) -> bytes:
    """The classic-BPF filter for ``machine`` (``platform.machine()``) as raw bytes."""
    ld, jeq, jset, jge, ret = 0x20, 0x15, 0x45, 0x35, 0x06
    arch, table = SYSCALLS[machine]
    eperm, enosys = RET_ERRNO | errno.EPERM, RET_ERRNO | errno.ENOSYS
    prog = [
        _insn(ld, 0, 0, 4),  # seccomp_data.arch
        _insn(jeq, 1, 0, arch),
        _insn(ret, 0, 0, enosys),  # another ABI (i386 on x86_64): nothing
        _insn(ld, 0, 0, 0),  # seccomp_data.nr
    ]
    if machine == "x86_64":
        prog += [_insn(jge, 0, 1, X32_BIT), _insn(ret, 0, 0, enosys)]
    for nr, arg in table.values():
        if arg is None:
            prog += [_insn(jeq, 0, 1, nr), _insn(ret, 0, 0, enosys if nr in (437, 425) else eperm)]
        else:
            prog += [
                _insn(jeq, 0, 4, nr),
                _insn(ld, 0, 0, 16 + 8 * arg),  # low 32 bits of args[arg] (little-endian)
                _insn(jset, 0, 1, SETID_BITS),
                _insn(ret, 0, 0, eperm),
                _insn(ret, 0, 0, RET_ALLOW),
            ]
    prog.append(_insn(ret, 0, 0, RET_ALLOW))
    return b"".join(prog)


def _libc():  # type: ignore[no-untyped-def]
    return ctypes.CDLL(None, use_errno=True)


def install_seccomp() -> None:
    """Stack the filter on this process and everything it starts (needs no-new-privs)."""
    machine = platform.machine()
    if machine not in SYSCALLS:  # refuse to run unfiltered
        raise SystemExit(f"claude-like sandbox: no seccomp table for the {machine} architecture")
    program = seccomp_program(machine)
    buf = ctypes.create_string_buffer(program, len(program))

    class FProg(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = FProg(len(program) // 8, ctypes.addressof(buf))
    libc = _libc()
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "seccomp filter: " + os.strerror(err))


# -- processes -----------------------------------------------------------------------------


def _table() -> dict[int, tuple[int, int]]:
    """pid -> (ppid, sid) for every process but this one."""
    out = {}
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        out[int(name)] = (int(fields[1]), int(fields[3]))
    return out


def _below(roots: set[int], table: dict[int, tuple[int, int]]) -> set[int]:
    """Every process whose chain of parents reaches one of ``roots`` (roots excluded)."""
    found: set[int] = set()
    frontier = set(roots)
    while frontier:
        frontier = {p for p, (pp, _) in table.items() if pp in frontier and p not in found}
        found |= frontier
    return found


def stop_and_kill(select) -> None:  # type: ignore[no-untyped-def]
    """SIGSTOP what ``select(table)`` names until nothing new shows up, then SIGKILL it:
    a stopped process cannot fork, so a fork bomb cannot outrun the sweep."""
    stopped: set[int] = set()
    for _ in range(1000):
        new = select(_table()) - stopped
        if not new:
            break
        for p in new:
            _signal(p, signal.SIGSTOP)
        stopped |= new
    for p in stopped:
        _signal(p, signal.SIGKILL)


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(OSError):
        os.kill(pid, sig)


def _reap() -> list[tuple[int, int]]:
    done = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return done
        if pid == 0:
            return done
        done.append((pid, status))


# -- roles ---------------------------------------------------------------------------------


def launch(argv: list[str]) -> int:
    install_seccomp()
    _libc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    gate_r, gate_w = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(gate_w)
        os.read(gate_r, 1)  # the pid line goes out before anything the program prints
        os.close(gate_r)
        os.setsid()
        os.dup2(1, 2)  # one stream: kept in the order written (Docker's two may reorder)
        for sig in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        try:
            os.execvp(argv[0], argv)
        except OSError as exc:
            os.write(2, f"{argv[0]}: {exc.strerror}\n".encode())
        os._exit(127)
    me = os.getpid()

    def others(table: dict[int, tuple[int, int]]) -> set[int]:
        return _below({me}, table) - {child}

    def interrupt(*_: object) -> None:
        _signal(child, signal.SIGUSR1)
        stop_and_kill(others)

    def finish(*_: object) -> None:
        stop_and_kill(lambda table: _below({me}, table))
        _reap()
        os._exit(137)

    signal.signal(signal.SIGUSR1, interrupt)
    for sig in (signal.SIGUSR2, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, finish)
    os.write(1, f"{PID_MARK} {child} {me}\n".encode())
    os.close(gate_r)
    os.close(gate_w)
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 0
        if pid == child:
            stop_and_kill(lambda table: _below({me}, table))
            _reap()
            code = os.waitstatus_to_exitcode(status)
            return code if code >= 0 else 128 - code


def kill(launcher: int, sig: int) -> int:
    if launcher > 0:
        _signal(launcher, sig)

    def orphans(table: dict[int, tuple[int, int]]) -> set[int]:
        # Whatever lost its launcher (killed by its own tree) was re-parented to PID 1.
        top = {p for p, (pp, _) in table.items() if pp == 1}
        return top | _below(top, table)

    stop_and_kill(orphans)
    return 0


def init(limit: int) -> None:
    _libc().prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)

    def agents(table: dict[int, tuple[int, int]]) -> set[int]:
        # Launchers come from `docker exec` (parent 0 here); keep them and their programs.
        launchers = {p for p, (pp, _) in table.items() if pp == 0}
        programs = {p for p, (pp, sid) in table.items() if pp in launchers and p == sid}
        return set(table) - launchers - programs

    def sweep(*_: object) -> None:
        stop_and_kill(agents)
        _reap()

    signal.signal(signal.SIGCHLD, lambda *_: _reap())
    signal.signal(signal.SIGUSR1, sweep)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    high = 0
    while True:
        time.sleep(0.5)
        if limit > 0:
            count = sum(1 for name in os.listdir("/proc") if name.isdigit())
            high = high + 1 if count >= 0.9 * limit else 0
            if high >= 4:  # near the pids limit for 2 s: a fork bomb, even in the background
                sweep()
                high = 0


def main(argv: list[str]) -> int:
    script = sys.argv[0]
    if script.startswith("/proc/self/fd/"):  # started from a memfd: do not pass it on
        with contextlib.suppress(OSError, ValueError):
            os.close(int(script.rsplit("/", 1)[1]))
    role, args = argv[0], argv[1:]
    if role == "launch":  # each argument as hex: any bytes survive Docker's JSON API
        return launch([os.fsdecode(bytes.fromhex(a)) for a in args])
    if role == "kill":
        return kill(int(args[0]), int(args[1]))
    if role == "init":
        init(int(args[0]) if args else 0)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
