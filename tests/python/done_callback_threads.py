"""Future.add_done_callback(): a callback added before the future is done
runs on the thread that sets its result (ProcessPoolExecutor's management
thread; in ThreadPoolExecutor, the worker thread that ran the task), after
result() may already have returned; callbacks run in the order added; one
added to a done future runs at once, on the caller's thread, before
add_done_callback() returns, even while those added before are still
running. Checked for docs/python-to-c.md, rows
"Future.add_done_callback(fn)"."""
import concurrent.futures
import contextlib
import concurrent.futures.process
import multiprocessing
import threading

WAIT = 30

go = None


def init(event):
    global go
    go = event


def blocked_task(x):
    assert go.wait(WAIT), "the task was never released"
    return x

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
    calls = []               # (label, thread) per callback, in call order
    release = threading.Event()
    first_ran = threading.Event()

    def before(label):
        def cb(fut):
            calls.append((label, threading.current_thread()))
            if label == "before-1":
                first_ran.set()
                # Hold the thread that runs callbacks: result() must still
                # return, since Python wakes waiters before the callbacks.
                assert release.wait(WAIT), "the callback was never released"
        return cb

    ctx = multiprocessing.get_context("fork")
    event = ctx.Event()
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx, initializer=init,
                                                initargs=(event,)) as ex, \
            released(event, release):
        fut = ex.submit(blocked_task, 7)
        fut.add_done_callback(before("before-1"))
        fut.add_done_callback(before("before-2"))
        assert not fut.done() and calls == []  # the task is blocked: nothing ran
        event.set()
        assert fut.result(timeout=WAIT) == 7
        assert first_ran.wait(WAIT)
        assert [c[0] for c in calls] == ["before-1"], calls  # result() did not wait

        # Added once done: runs at once, here, before the call returns, even
        # though before-1 is still running and before-2 has not started.
        fut.add_done_callback(lambda f: calls.append(("after", threading.current_thread())))
        assert calls[-1][0] == "after" and calls[-1][1] is threading.main_thread(), calls
        release.set()
    # The executor's shutdown joined the management thread, so before-2 ran.
    labels = [c[0] for c in calls]
    assert labels == ["before-1", "after", "before-2"], labels
    manager = calls[0][1]
    assert isinstance(manager, concurrent.futures.process._ExecutorManagerThread), manager
    assert calls[2][1] is manager

    # ThreadPoolExecutor: the worker thread that ran the task sets the result
    # and runs the callback added before.
    with concurrent.futures.ThreadPoolExecutor(1) as tex:
        hold = threading.Event()
        ran_on = []
        tfut = tex.submit(lambda: (ran_on.append(threading.current_thread()),
                                   hold.wait(WAIT)))
        cb_on = []
        tfut.add_done_callback(lambda f: cb_on.append(threading.current_thread()))
        hold.set()
        tfut.result(timeout=WAIT)
    assert cb_on and cb_on[0] is ran_on[0] and cb_on[0] is not threading.main_thread()

    print(f"done_callback_threads: added before: {manager.name} "
          f"({type(manager).__name__}), in order added; added after: "
          f"{calls[1][1].name}, before before-2; ThreadPoolExecutor: {cb_on[0].name}")


if __name__ == "__main__":
    main()
