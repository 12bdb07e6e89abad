"""A ThreadPool task that crashes (a segfault) or calls os._exit() ends the
whole program: the caller's next line never runs. The same crash in a
process Pool's task kills only that worker, and the caller goes on (its
result is never ready: Pool does not notice). Each program runs in a
subprocess here. Checked for docs/python-to-c.md, row "ThreadPool: a task
that crashes"."""
import signal
import subprocess
import sys

WAIT = 30

PROGRAM = r"""
import ctypes, multiprocessing, multiprocessing.pool, os, sys

def segv():
    ctypes.string_at(0)  # reads address 0: SIGSEGV

def leave():
    os._exit(3)

kind, how = sys.argv[1], sys.argv[2]
pool = (multiprocessing.pool.ThreadPool(2) if kind == "threads"
        else multiprocessing.get_context("fork").Pool(2))
r = pool.apply_async(segv if how == "segv" else leave)
ready = r.wait(2) or r.ready()  # a process Pool's handle never gets ready
print("caller still running; ready:", ready, flush=True)
pool.terminate()
"""


def run(kind, how):
    p = subprocess.run([sys.executable, "-c", PROGRAM, kind, how],
                       capture_output=True, text=True, timeout=WAIT)
    return p.returncode, p.stdout


def main():
    rc, out = run("threads", "segv")
    assert rc == -signal.SIGSEGV, (rc, out)
    assert "caller still running" not in out, out
    rc_exit, out = run("threads", "exit")
    assert rc_exit == 3, (rc_exit, out)
    assert "caller still running" not in out, out

    prc, pout = run("processes", "segv")
    assert prc == 0, (prc, pout)
    assert "caller still running; ready: False" in pout, pout
    print(f"threadpool_crash_kills: ThreadPool task's segfault ended the program "
          f"(status {rc}, signal {signal.Signals(-rc).name}), its os._exit(3) too "
          f"(status {rc_exit}); Pool: only the worker died, the caller went on")


if __name__ == "__main__":
    main()
