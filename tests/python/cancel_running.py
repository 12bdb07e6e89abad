"""Future.cancel() cancels only a PENDING future: it returns False once the
future is RUNNING. ProcessPoolExecutor moves pending calls to its call
queue ahead of time and marks them RUNNING there, so some calls that no
worker has started can no longer be cancelled. A cancelled future runs its
done callbacks at once, on the thread that called cancel(), and never
reaches a worker. Checked for docs/python-to-c.md, rows "Future.cancel()"."""
import concurrent.futures
import contextlib
import multiprocessing
import threading
import time

WAIT = 30
LATER = 6  # calls submitted behind the blocked one

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
    """Polls a state the executor changes on its own thread (no hook tells
    when); the deadline only bounds a hang."""
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


def main():
    ctx = multiprocessing.get_context("fork")
    event, counter = ctx.Event(), ctx.Value("i", 0)
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx, initializer=init,
                                                initargs=(event, counter)) as ex, \
            released(event):
        first = ex.submit(task, 0)
        wait_until(lambda: counter.value == 1, "call 0 started")
        assert first.running() and not first.cancel()  # RUNNING: False

        later = [ex.submit(task, i) for i in range(1, LATER + 1)]
        # Wait until the management thread has moved a call to its call queue.
        wait_until(lambda: any(f.running() for f in later), "a later call is RUNNING")
        cb_threads = []
        outcomes = []
        for f in later:
            f.add_done_callback(lambda f: cb_threads.append(threading.current_thread()))
            outcomes.append(f.cancel())
        # The only worker is held in call 0, so none of the later calls has
        # started; still, those in the call queue are RUNNING and stay.
        assert counter.value == 1
        running = [f for f, ok in zip(later, outcomes) if not ok]
        assert 1 <= len(running) < LATER, outcomes
        assert all(f.running() for f in running)
        assert all(f.cancelled() for f, ok in zip(later, outcomes) if ok)
        cancelled = outcomes.count(True)
        # Each cancelled future ran its callback at once, on this thread.
        assert len(cb_threads) == cancelled
        assert all(t is threading.main_thread() for t in cb_threads)
        for f in later:
            if f.cancelled():
                try:
                    f.result(timeout=0)
                    raise AssertionError("a cancelled future gave a result")
                except concurrent.futures.CancelledError:
                    pass
        event.set()
        assert first.result(timeout=WAIT) == 0
        assert [f.result(timeout=WAIT) for f in running] == [later.index(f) + 1 for f in running]
    # Only call 0 and the RUNNING ones reached the worker.
    ran = counter.value
    assert ran == 1 + len(running), (ran, len(running))
    print(f"cancel_running: cancel() of the started call: False; of {LATER} queued behind it: "
          f"{len(running)} False (RUNNING in the call queue, not started), {cancelled} True; "
          f"{ran} calls reached the worker")


if __name__ == "__main__":
    main()
