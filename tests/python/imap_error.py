"""An item that raises in Pool.imap: next() raises its exception at that
item's place, and the later items still come from next(); the same in
imap_unordered, where the failed item comes when it finishes. Checked for
docs/python-to-c.md, row "a failing item in imap"."""
import multiprocessing

WAIT = 30
N = 6
BAD = 2


def task(x):
    if x == BAD:
        raise ValueError(f"bad {x}")
    return x * 10


def drain(it):
    """Every outcome of the iterator, in the order next() gives them."""
    seen = []
    while True:
        try:
            seen.append(it.next(timeout=WAIT))
        except StopIteration:
            return seen
        except ValueError as e:
            seen.append(repr(e))


def main():
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2) as pool:
        ordered = drain(pool.imap(task, range(N)))
        want = [0, 10, "ValueError('bad 2')", 30, 40, 50]
        assert ordered == want, ordered

        unordered = drain(pool.imap_unordered(task, range(N)))
        assert sorted(map(str, unordered)) == sorted(map(str, want)), unordered
    print(f"imap_error: imap gave {ordered}; imap_unordered gave all {len(unordered)} outcomes")


if __name__ == "__main__":
    main()
