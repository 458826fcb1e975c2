#!/usr/bin/python3
"""Runs the benchmark driver as a child subreaper, so the hosts' CPU can be accounted.

    reaper.py -- node bench/driver.mjs ARGS...

The loopback sshd listeners outlive the `loopback-cli up` that starts them and are re-parented to the nearest
subreaper ancestor: this process. So are the session processes OpenSSH leaves behind (sshd's privileged monitor
exits without waiting for its `user@notty` child, whose CPU would otherwise be credited to init). Everything is
reaped here, so the CPU of the managed hosts = this process's cutime+cstime plus the live listeners' own times,
which the driver reads from /proc (it finds this process through HAPLAY_BENCH_REAPER). Exits with the driver's code.
"""
import ctypes
import os
import signal
import subprocess
import sys

PR_SET_CHILD_SUBREAPER = 36


def main():
    argv = sys.argv[1:]
    if not argv or argv[0] != "--" or len(argv) < 2:
        sys.exit("usage: reaper.py -- COMMAND ARGS...")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit(f"reaper.py: prctl(PR_SET_CHILD_SUBREAPER) failed: errno {ctypes.get_errno()}")
    # Ctrl-C reaches the whole foreground process group; the driver handles it and cleans up (a Python-level handler,
    # unlike SIG_IGN, is not inherited by the driver).
    signal.signal(signal.SIGINT, lambda signum, frame: None)
    env = dict(os.environ, HAPLAY_BENCH_REAPER=str(os.getpid()))
    proc = subprocess.Popen(argv[1:], env=env)
    signal.signal(signal.SIGTERM, lambda s, f: os.kill(proc.pid, s))
    code = None
    while code is None:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if pid == proc.pid:
            code = os.waitstatus_to_exitcode(status)
    # Reap what is already gone; whatever still runs (hosts kept with --keep) is left to init.
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
    if code is None:
        code = 1
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
