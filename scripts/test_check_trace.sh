#!/usr/bin/env bash
# test_check_trace.sh - checks the trace checker (scripts/check_trace.py):
# each case of tests/trace_check/cases.txt names a trace and its verdict.
#   pass        a real trace of the lesson (or one edited harmlessly): status 0
#   fail CLAIM  a real trace with one edit that breaks CLAIM: status 1, and
#               a "FAILED CLAIM:" line; other claims may fail with it
#   unreadable  truncated or not JSON: status 2, and a single line
# Every claim the checker knows must be broken by at least one case, so no
# claim is left that could never fail. tests/trace_check/make_wrong.py
# writes the wrong traces and cases.txt from the good ones.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
dir=$src/tests/trace_check
checker=$src/scripts/check_trace.py
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bad=0 caught=0 passed=0 refused=0
declare -A broken=()

# The checker runs on every case first, SELFTEST_JOBS at a time (Python's
# start is most of the cost); then the verdicts are read in order.
grep -v -e '^#' -e '^$' "$dir/cases.txt" | awk '{ print $2, $3 }' |
    xargs -P "${SELFTEST_JOBS:-4}" -L 1 sh -c \
        'timeout 60 python3 "$0" "$3" "$1/$4" >"$2/$4.out" 2>&1; echo $? >"$2/$4.status"' \
        "$checker" "$dir" "$tmp" 2>/dev/null ||
    true # a case's own status is read below
while read -r verdict nn file claim _; do
    case $verdict in '' | '#'*) continue ;; esac
    out=$tmp/$file.out
    status=$(cat "$tmp/$file.status" 2>/dev/null || echo "none")
    why=
    case $verdict in
    pass) [ "$status" = 0 ] || why="status $status, not 0" ;;
    fail)
        if [ "$status" != 1 ]; then
            why="status $status, not 1"
        elif ! grep -q "^FAILED $claim: " "$out"; then
            why="claim $claim is not among the failed ones"
        else
            broken[$claim]=1
        fi
        ;;
    unreadable)
        if [ "$status" != 2 ]; then
            why="status $status, not 2"
        elif [ "$(wc -l <"$out")" -ne 1 ]; then
            why="$(wc -l <"$out") lines, not one"
        fi
        ;;
    *) why="unknown verdict $verdict in cases.txt" ;;
    esac
    if [ -n "$why" ]; then
        echo "WRONG  $file (lesson $nn, expected $verdict${claim#-}): $why; the checker said:"
        sed 's/^/    /' "$out"
        bad=$((bad + 1))
    else
        echo "ok     $file: $verdict $(grep -m 1 -e "^FAILED $claim:" -e '^check_trace:' "$out" | cut -c 1-110)"
        case $verdict in pass) passed=$((passed + 1)) ;; fail) caught=$((caught + 1)) ;;
        *) refused=$((refused + 1)) ;; esac
    fi
done <"$dir/cases.txt"

# Every claim has a wrong trace that breaks it.
for claim in $(python3 "$checker" --list | awk '{ print $2 }'); do
    if [ -z "${broken[$claim]:-}" ]; then
        echo "WRONG  claim $claim: no case in cases.txt shows that it can fail"
        bad=$((bad + 1))
    fi
done
# A claim name that does not exist, and a bad command line, are refused.
for args in "--claims no_such_claim $dir/good_01.json" "01" "--bogus x"; do
    # shellcheck disable=SC2086 # the words are the arguments
    python3 "$checker" $args >/dev/null 2>&1
    status=$?
    if [ "$status" -ne 2 ]; then
        echo "WRONG  check_trace.py $args: status $status, not 2"
        bad=$((bad + 1))
    fi
done

echo "test_check_trace: $caught wrong traces caught, $passed good ones passed," \
    "$refused unreadable ones refused; $bad wrong verdict(s)"
[ "$bad" -eq 0 ]
