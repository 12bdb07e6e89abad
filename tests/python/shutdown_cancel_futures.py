"""Executor.shutdown(wait, cancel_futures): cancel_futures=True cancels
every future that cancel() would (the PENDING ones) and lets the RUNNING
ones finish; wait=True returns only once they did, wait=False at once;
after it, submit() raises RuntimeError. Checked for docs/python-to-c.md,
row "Executor.shutdown(wait=True, cancel_futures=False)"."""
import concurrent.futures
import contextlib
import multiprocessing
import threading
import time

WAIT = 30
LATER = 6

go = None
started = None


def init(event, counter):
    global go, started
    go, started = event, counter


def task(x):
    with started.get_lock():
        started.value += 1
    if x == 0:
        assert go.wait(WAIT), "call 0 was never released"
    return x


def wait_until(pred, what):
    """Polls a state the executor changes on its own thread; the deadline
    only bounds a hang."""
    deadline = time.monotonic() + WAIT
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.01)

@contextlib.contextmanager
def released(*events):
    """Sets the events on the way out, even past a failed assertion, so that
    no call left blocked holds up the pool's shutdown."""
    try:
        yield
    finally:
        for e in events:
            e.set()


def run(wait):
    """One blocked call and LATER behind it; shutdown(wait, cancel_futures=True).
    Returns (cancelled, finished, ran) counts."""
    ctx = multiprocessing.get_context("fork")
    event, counter = ctx.Event(), ctx.Value("i", 0)
    ex = concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx, initializer=init,
                                                initargs=(event, counter))
    with released(event):
        first = ex.submit(task, 0)
        wait_until(lambda: counter.value == 1, "call 0 started")
        later = [ex.submit(task, i) for i in range(1, LATER + 1)]
        # As in cancel_running.py: the call queue takes some calls first.
        wait_until(lambda: any(f.running() for f in later), "a later call is RUNNING")

        returned = threading.Event()

        def shut():
            ex.shutdown(wait=wait, cancel_futures=True)
            returned.set()

        t = threading.Thread(target=shut)
        t.start()
        # Every later call is either cancelled or RUNNING (in the call queue).
        wait_until(lambda: all(f.cancelled() or f.running() for f in later),
                   "the later calls are cancelled or RUNNING")
        if wait:
            # Call 0 cannot finish before go is set, so shutdown must still wait.
            assert not returned.is_set() and t.is_alive()
        else:
            assert returned.wait(WAIT), "shutdown(wait=False) did not return"
            assert not first.done()
        try:
            ex.submit(task, 99)
            raise AssertionError("submit() after shutdown() succeeded")
        except RuntimeError:
            pass
        event.set()
        t.join(WAIT)
        assert not t.is_alive()
        assert first.result(timeout=WAIT) == 0
    cancelled = [f for f in later if f.cancelled()]
    finished = [f for f in later if not f.cancelled()]
    assert cancelled and finished, (len(cancelled), len(finished))
    assert [f.result(timeout=WAIT) for f in finished] == [later.index(f) + 1 for f in finished]
    if not wait:
        ex.shutdown(wait=True)  # join the workers before reading the count
    ran = counter.value
    assert ran == 1 + len(finished), (ran, len(finished))  # cancelled ones never ran
    return len(cancelled), len(finished), ran


def main():
    waited = run(wait=True)
    not_waited = run(wait=False)
    print(f"shutdown_cancel_futures: of {LATER} queued behind a running call, "
          f"wait=True: {waited[0]} cancelled, {waited[1]} finished; "
          f"wait=False: {not_waited[0]} cancelled, {not_waited[1]} finished; "
          "shutdown(wait=True) returned only after the running call")


if __name__ == "__main__":
    main()
