"""Pool.imap reads its whole input ahead, on the pool's task-handler thread,
before the caller takes a single result. Checked for docs/python-to-c.md,
row "Pool.imap(f, iterable)": the C pool reads only POOL_IMAP_AHEAD chunks
per worker ahead instead. So pool.close() right after imap() still lets
every item run, where the C pool's pool_close() ends the input.

Item 0 waits for an event that the parent sets only after the generator
has been read to its end, so no result can have been taken by then."""
import multiprocessing
import threading

WAIT = 30
N = 1000

go = None


def init(event):
    global go
    go = event


def task(x):
    if x == 0:
        assert go.wait(WAIT), "item 0 was never released"
    return x


def main():
    read = 0
    reader = []
    exhausted = threading.Event()

    def items():
        nonlocal read
        reader.append(threading.current_thread())
        for i in range(N):
            read += 1
            yield i
        exhausted.set()

    ctx = multiprocessing.get_context("fork")
    event = ctx.Event()
    with ctx.Pool(2, initializer=init, initargs=(event,)) as pool:
        it = pool.imap(task, items())
        # No next() yet, and item 0 cannot finish: whatever is read now is
        # read ahead.
        assert exhausted.wait(WAIT), f"only {read} of {N} items were read"
        assert not event.is_set()
        ahead = read
        assert ahead == N, ahead
        assert reader[0] is pool._task_handler, reader[0]
        thread_name = reader[0].name
        event.set()
        results = [it.next(timeout=WAIT) for _ in range(N)]
        assert results == list(range(N))
    # close() at once, before the task handler may have read anything: the
    # imap was queued before close(), so its whole input is still read.
    with ctx.Pool(2) as pool:
        read = 0
        it = pool.imap(abs, items())
        pool.close()
        after_close = list(it)
        pool.join()
    assert after_close == list(range(N)), len(after_close)
    print(f"imap_reads_ahead: {ahead} of {N} items read on thread {thread_name!r} "
          "before the first result was taken; "
          f"close() right after imap() still gave all {len(after_close)}")


if __name__ == "__main__":
    main()
