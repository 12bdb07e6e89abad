#!/usr/bin/env bash
# check_python_rows.sh - keeps docs/python-to-c.md honest about its Python
# column: every tests/python/NAME.py is cited on the page (as
# tests/python/NAME.py), so no check runs that no row rests on, and every
# file the page cites exists, so no row rests on a check that is gone.
# Usage: scripts/check_python_rows.sh [PAGE [TESTS_DIR]]
#        scripts/check_python_rows.sh --selftest
set -u
src=$(cd "$(dirname "$0")/.." && pwd)

check() { # page dir: prints each fault; status 1 if any, 2 if unreadable
    local page=$1 dir=$2 bad=0 f name
    [ -r "$page" ] || { echo "check_python_rows: cannot read $page"; return 2; }
    local found=0
    for f in "$dir"/*.py; do
        [ -e "$f" ] || continue
        found=1
        name=$(basename "$f")
        grep -qF "tests/python/$name" "$page" ||
            { echo "check_python_rows: tests/python/$name is not cited in $page"; bad=1; }
    done
    [ $found = 1 ] || { echo "check_python_rows: no tests in $dir"; bad=1; }
    while read -r name; do
        [ -e "$dir/$name" ] ||
            { echo "check_python_rows: $page cites tests/python/$name, which does not exist"; bad=1; }
    done < <(grep -oE 'tests/python/[A-Za-z0-9_]+\.py' "$page" | sed 's|tests/python/||' | sort -u)
    return $bad
}

if [ "${1:-}" = --selftest ]; then
    # The check must fail on a page that leaves a test out and on one that
    # cites a file that does not exist, and pass on the page as it is.
    tmp=$(mktemp -d) || exit 2
    trap 'rm -rf "$tmp"' EXIT
    page=$src/docs/python-to-c.md dir=$src/tests/python
    tests=("$dir"/*.py)
    first=$(basename "${tests[0]}")
    grep -vF "tests/python/$first" "$page" > "$tmp/left_out.md"
    { cat "$page"; echo "| x | y | tests/python/no_such_check.py |"; } > "$tmp/ghost.md"
    fail=0
    check "$page" "$dir" > "$tmp/out" || { cat "$tmp/out"; echo "FAIL: the page itself"; fail=1; }
    check "$tmp/left_out.md" "$dir" > "$tmp/out" && { echo "FAIL: $first left out, and passed"; fail=1; }
    grep -q "$first is not cited" "$tmp/out" || { echo "FAIL: no line for $first"; fail=1; }
    check "$tmp/ghost.md" "$dir" > "$tmp/out" && { echo "FAIL: a missing file cited, and passed"; fail=1; }
    grep -q "no_such_check.py, which does not exist" "$tmp/out" || { echo "FAIL: no line for the missing file"; fail=1; }
    [ $fail = 0 ] && echo "check_python_rows --selftest: a left-out test and a missing file both fail"
    exit $fail
fi

page=${1:-$src/docs/python-to-c.md}
dir=${2:-$src/tests/python}
check "$page" "$dir"
status=$?
tests=("$dir"/*.py)
[ $status = 0 ] && echo "check_python_rows: all ${#tests[@]} tests in tests/python/ are cited in $(basename "$page"), and every cited one exists"
exit $status
