"""multiprocessing.pool.ThreadPool runs its tasks in the caller's own
process (same pid), on worker threads; the callbacks still run on the
pool's result-handler thread; and values are not copied: the task gets the
caller's very object, and its changes are seen. A process Pool copies both
ways. Checked for docs/python-to-c.md, rows "ThreadPool"."""
import multiprocessing
import multiprocessing.pool
import os
import threading

WAIT = 30


def task(items):
    items.append("task was here")
    return items, os.getpid(), threading.current_thread().name


def run(pool):
    arg = []
    seen = []
    done = threading.Event()

    def cb(result):
        seen.append(threading.current_thread())
        done.set()

    r = pool.apply_async(task, (arg,), callback=cb)
    value, pid, thread = r.get(timeout=WAIT)
    assert done.wait(WAIT)
    return arg, value, pid, thread, seen[0]


def main():
    with multiprocessing.pool.ThreadPool(2) as pool:
        arg, value, pid, thread, cb_thread = run(pool)
        handler = pool._result_handler
    assert pid == os.getpid(), (pid, os.getpid())
    assert thread != threading.main_thread().name and "worker" in thread, thread
    assert cb_thread is handler and cb_thread is not threading.main_thread()
    assert value is arg and arg == ["task was here"], arg  # no copy either way

    with multiprocessing.get_context("fork").Pool(2) as pool:
        parg, pvalue, ppid, _, pcb_thread = run(pool)
        phandler = pool._result_handler
    assert ppid != os.getpid()
    assert pcb_thread is phandler
    assert parg == [] and pvalue == ["task was here"] and pvalue is not parg  # copies
    print(f"threadpool_same_pid: ThreadPool task in pid {pid} (the caller's) on "
          f"{thread!r}, callback on {cb_thread.name!r}, argument shared, not copied; "
          "Pool: another pid, copied")


if __name__ == "__main__":
    main()
