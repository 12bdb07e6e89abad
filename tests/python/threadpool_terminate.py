"""ThreadPool.terminate() cannot kill a thread, and does not wait for one
either: it returns while a task is still running, and join() is what
waits for that task to end. Tasks not yet started never start, and no
handle becomes ready, not even the running task's. Checked for
docs/python-to-c.md, row "ThreadPool.terminate()"."""
import contextlib
import multiprocessing.pool
import threading

WAIT = 30
LATER = 3

@contextlib.contextmanager
def released(*events):
    """Sets the events on the way out, even past a failed assertion, so that
    no call left blocked holds up the pool's shutdown."""
    try:
        yield
    finally:
        for e in events:
            e.set()


def main():
    go = threading.Event()
    started = threading.Event()
    ran, ended = [], []

    def task(x):
        ran.append(x)
        if x == 0:
            started.set()
            assert go.wait(WAIT), "task 0 was never released"
        ended.append(x)
        return x

    with released(go):
        pool = multiprocessing.pool.ThreadPool(1)
        first = pool.apply_async(task, (0,))
        later = [pool.apply_async(task, (i,)) for i in range(1, LATER + 1)]
        assert started.wait(WAIT)
        pool.terminate()
        # Task 0 cannot end before go is set: terminate() returned without it.
        assert ended == [] and pool._pool[0].is_alive()
        joiner = threading.Thread(target=pool.join)
        joiner.start()
        # The bounded join only keeps a wrong claim from hanging the test.
        joiner.join(1.0)
        assert joiner.is_alive(), "join() returned while task 0 was running"
        go.set()
        joiner.join(WAIT)
        assert not joiner.is_alive()
    assert ran == [0] and ended == [0], (ran, ended)  # the later tasks never started
    assert not first.ready() and not any(r.ready() for r in later)
    print(f"threadpool_terminate: terminate() returned with task 0 still running, "
          f"join() waited for it; {LATER} queued tasks never started; no handle got ready")


if __name__ == "__main__":
    main()
