"""Pool.imap_unordered hands results over in the order the items finish,
Pool.imap in item order; both send one item per task by default
(chunksize=1). Checked for docs/python-to-c.md, row "Pool.imap_unordered".

Item 0 waits for an event that only the parent sets, and item 1 returns at
once, so item 1 always finishes first: no timing is involved."""
import inspect
import multiprocessing
import multiprocessing.pool

WAIT = 30  # seconds: any wait longer than this is a hang, not a result

go = None


def init(event):
    global go
    go = event


def task(x):
    if x == 0:
        assert go.wait(WAIT), "item 0 was never released"
    return x


def main():
    # Both calls default to one item per task, as the C pool's 0 does.
    for name in ("imap", "imap_unordered"):
        sig = inspect.signature(getattr(multiprocessing.pool.Pool, name))
        assert sig.parameters["chunksize"].default == 1, (name, sig)

    ctx = multiprocessing.get_context("fork")
    event = ctx.Event()
    with ctx.Pool(2, initializer=init, initargs=(event,)) as pool:
        # imap_unordered: item 1 comes first, while item 0 is still blocked.
        # With chunksize 2, both items would share one worker and item 1
        # could not run before item 0: this also shows chunksize=1.
        it = pool.imap_unordered(task, range(2))
        first = it.next(timeout=WAIT)
        assert not event.is_set()
        event.set()
        second = it.next(timeout=WAIT)
        unordered = [first, second]
        assert unordered == [1, 0], unordered

        # imap: while item 0 is blocked, nothing comes, though item 1 is done.
        event.clear()
        it = pool.imap(task, range(2))
        try:
            got = it.next(timeout=0.5)
        except multiprocessing.TimeoutError:
            got = None
        assert got is None, f"imap gave {got} before item 0 finished"
        event.set()
        ordered = [it.next(timeout=WAIT), it.next(timeout=WAIT)]
        assert ordered == [0, 1], ordered
    print(f"imap_unordered_order: imap_unordered gave {unordered}, imap gave {ordered}; "
          "chunksize defaults to 1")


if __name__ == "__main__":
    main()
