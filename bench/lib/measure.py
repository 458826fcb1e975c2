#!/usr/bin/python3
"""Runs one controller command and measures it: wall time, CPU (user+sys) and peak memory of its whole process tree.

    measure.py --out RESULT.json [--stdout FILE] [--stderr FILE] [--sample-ms 200] -- COMMAND ARGS...

The wrapper makes itself a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so processes that daemonize below the
command -- OpenSSH ControlPersist masters, ProxyJump helpers -- are re-parented to it instead of to init. When the
command exits, wall time stops; every process still left below the wrapper gets SIGTERM (SIGKILL after 5 s) and is
reaped, so getrusage(RUSAGE_CHILDREN) then holds the CPU of the command's entire tree, daemonized masters included.

Memory: ru_maxrss of RUSAGE_CHILDREN is the peak RSS of the LARGEST single process of the tree (exact, kernel
accounted; values up to the wrapper's own RSS, reported as wrapperRssKb, are the wrapper's fork and mean "at most
that"). The tree total is sampled every --sample-ms from /proc: the sum of PSS (smaps_rollup; shared pages
split between sharers, so a fork()ing controller is not counted N times) and the sum of RSS. --sample-ms 0 turns
sampling off. The wrapper's own CPU is not included in anything it reports.
"""
import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time

PR_SET_CHILD_SUBREAPER = 36


def parse_args(argv):
    opts = {"out": None, "stdout": None, "stderr": None, "sample_ms": 200}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            return opts, argv[i + 1:]
        if a in ("--out", "--stdout", "--stderr", "--sample-ms") and i + 1 < len(argv):
            key = a[2:].replace("-", "_")
            opts[key] = int(argv[i + 1]) if key == "sample_ms" else argv[i + 1]
            i += 2
            continue
        sys.exit(f"measure.py: unexpected argument {a!r}")
    sys.exit("measure.py: missing -- COMMAND")


def children_of(pid):
    out = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out.extend(int(x) for x in f.read().split())
        except OSError:
            pass
    return out


def descendants(root):
    out, stack = [], [root]
    while stack:
        for c in children_of(stack.pop()):
            out.append(c)
            stack.append(c)
    return out


def mem_of(pid):
    """(pss_kb, rss_kb) of one process; zeros for zombies/gone processes."""
    pss = rss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
                    break
    except (OSError, ValueError):
        pass
    return pss, rss


class Sampler(threading.Thread):
    def __init__(self, interval_s):
        super().__init__(daemon=True)
        self.interval_s = interval_s
        self.stop_event = threading.Event()
        self.peak_pss = self.peak_rss = self.peak_procs = self.samples = 0

    def sample(self):
        pids = descendants(os.getpid())
        pss = rss = 0
        for p in pids:
            a, b = mem_of(p)
            pss += a
            rss += b
        self.peak_pss = max(self.peak_pss, pss)
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_procs = max(self.peak_procs, len(pids))
        self.samples += 1

    def run(self):
        # Adaptive: never spend more than ~10% of one core walking /proc (hundreds of ssh processes at large N).
        wait = min(self.interval_s, 0.05)  # an early first sample, so that short runs get one
        while not self.stop_event.wait(wait):
            t = time.monotonic()
            self.sample()
            wait = max(self.interval_s, 9 * (time.monotonic() - t))


def reap_all(grace_s=5.0):
    """SIGTERM whatever is left below us, SIGKILL after grace_s, and reap everything. Returns how many were left."""
    left = descendants(os.getpid())
    for p in left:
        try:
            os.kill(p, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + grace_s
    killed = False
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid != 0:
            continue
        if not killed and time.monotonic() > deadline:
            for p in descendants(os.getpid()):
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
            killed = True
        time.sleep(0.02)
    return len(left)


def main():
    opts, cmd = parse_args(sys.argv[1:])
    if not cmd:
        sys.exit("measure.py: empty command")
    # Ctrl-C reaches the whole process group: the measured command decides what to do; we keep waiting for it (a
    # Python-level handler, unlike SIG_IGN, is not inherited by the command).
    signal.signal(signal.SIGINT, lambda signum, frame: None)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit(f"measure.py: prctl(PR_SET_CHILD_SUBREAPER) failed: errno {ctypes.get_errno()}")
    stdout = open(opts["stdout"], "wb") if opts["stdout"] else subprocess.DEVNULL
    stderr = open(opts["stderr"], "wb") if opts["stderr"] else subprocess.DEVNULL
    sampler = Sampler(opts["sample_ms"] / 1000.0) if opts["sample_ms"] > 0 else None
    # The command's first process starts as a copy of this one, and Linux keeps the RSS high-water mark of the copy
    # across exec: ru_maxrss below this value cannot be told apart from the wrapper's own footprint.
    own_rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr)
    if sampler:
        sampler.start()
    code = proc.wait()
    wall = time.monotonic() - t0
    if sampler:
        sampler.stop_event.set()
        sampler.join()
    leftovers = reap_all()
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    me = resource.getrusage(resource.RUSAGE_SELF)
    result = {
        "exitCode": code,
        "wallMs": round(wall * 1000, 1),
        "userMs": round(ru.ru_utime * 1000, 1),
        "sysMs": round(ru.ru_stime * 1000, 1),
        "cpuMs": round((ru.ru_utime + ru.ru_stime) * 1000, 1),
        "maxRssKb": ru.ru_maxrss,
        "peakTreePssKb": sampler.peak_pss if sampler and sampler.samples else None,
        "peakTreeRssKb": sampler.peak_rss if sampler and sampler.samples else None,
        "peakProcs": sampler.peak_procs if sampler else None,
        "samples": sampler.samples if sampler else 0,
        "leftovers": leftovers,
        "wrapperRssKb": own_rss_kb,
        "wrapperCpuMs": round((me.ru_utime + me.ru_stime) * 1000, 1),
    }
    with open(opts["out"], "w") as f:
        json.dump(result, f)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
