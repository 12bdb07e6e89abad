"""multiprocessing.Pool's AsyncResult has no add_done_callback() and no
cancel(): its callbacks are given only at submission, and a submitted task
cannot be taken back. concurrent.futures.Future has both. Checked for
docs/python-to-c.md, row "AsyncResult: no add_done_callback(), no cancel()"."""
import concurrent.futures
import multiprocessing
import multiprocessing.pool

WAIT = 30


def square(x):
    return x * x


def main():
    with multiprocessing.get_context("fork").Pool(1) as pool:
        results = [pool.apply_async(square, (3,)), pool.map_async(square, [1, 2]),
                   pool.imap(square, [1])]
        for r in results[:2]:
            r.wait(WAIT)
            for name in ("add_done_callback", "cancel", "cancelled", "done"):
                assert not hasattr(r, name), (type(r).__name__, name)
        assert not hasattr(results[2], "cancel")
        assert list(results[2]) == [1]
    for name in ("add_done_callback", "cancel", "cancelled", "done"):
        assert hasattr(concurrent.futures.Future, name), name
    names = sorted(n for n in dir(multiprocessing.pool.AsyncResult) if not n.startswith("_"))
    print(f"asyncresult_methods: AsyncResult has only {names}; "
          "Future has add_done_callback() and cancel()")


if __name__ == "__main__":
    main()
