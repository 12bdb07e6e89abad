#!/usr/bin/env bash
# test_python_claims.sh - shows that each tests/python/*.py can fail: each
# line of tests/python/flips.txt turns one of its claims around, in a copy,
# and the copy must then fail with an AssertionError at the edited line
# (a syntax error, another assertion or a hang does not count). Every test must have a line, and each line's text
# must occur exactly once in its file, so an edit cannot go stale unseen.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
dir=$src/tests/python
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
bad=0 caught=0 n=0
declare -A flipped=()

while IFS=$'\t' read -r file old new claim; do
    case $file in '' | '#'*) continue ;; esac
    n=$((n + 1))
    flipped[$file]=1
    copy=$tmp/$n/$file
    mkdir -p "$tmp/$n"
    # The copy gets the one edit, or the line is wrong.
    if ! python3 - "$dir/$file" "$copy" "$old" "$new" <<'PY'
import sys
path, copy, old, new = sys.argv[1:]
text = open(path).read()
if text.count(old) != 1:
    sys.exit(f"found {text.count(old)} times, not once")
open(copy, "w").write(text.replace(old, new))
PY
    then
        echo "BAD LINE: $file: '$old'"; bad=$((bad + 1)); continue
    fi
    timeout 120 python3 "$copy" >"$tmp/$n.out" 2>&1
    status=$?
    if [ $status = 0 ]; then
        echo "NOT CAUGHT: $file passed with the wrong claim: $claim"; bad=$((bad + 1))
    elif [ $status = 124 ]; then
        echo "HANG: $file with the wrong claim ($claim) hit the 120 s limit"; bad=$((bad + 1))
    elif ! grep -q AssertionError "$tmp/$n.out" || ! grep -qF -- "$new" "$tmp/$n.out"; then
        echo "NOT THIS ASSERTION: $file ($claim) failed with status $status, not at the edit:"
        tail -4 "$tmp/$n.out"; bad=$((bad + 1))
    else
        caught=$((caught + 1))
    fi
done < "$dir/flips.txt"

for f in "$dir"/*.py; do
    name=$(basename "$f")
    [ -n "${flipped[$name]:-}" ] || { echo "NO FLIP: $name has no line in flips.txt"; bad=$((bad + 1)); }
done
echo "test_python_claims: $caught of $n wrong claims caught, $bad problems"
[ $bad = 0 ] && [ $n -gt 0 ]
