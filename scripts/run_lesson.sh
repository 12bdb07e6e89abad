#!/usr/bin/env bash
# run_lesson.sh - runs one lesson and checks what it did against its
# expected_output/ file. Usage:
#     scripts/run_lesson.sh [--wrap TOOL] [--time-scale N] PROGRAM EXPECTED
#
# The expected file is read twice. FileCheck reads its check lines (one pass
# per "# pass PREFIX = what it checks" line). This script reads its
# "# expect" lines, for what FileCheck cannot see:
#     # expect exit-status: 0
#     # expect time-limit: 10          (seconds; --time-scale multiplies it)
#     # expect stderr: ERE             (one per stderr line, in order; none: empty)
#     # expect same: Main Process pid, Callback Process pid
#     # expect different: Main Thread tid, Callback Thread tid
# A "same" or "different" item names the line by its label (the text before
# the first colon) and a key=value field on that line.
#
# --wrap TOOL runs "TOOL PROGRAM" instead (e.g. scripts/memcheck.sh, which
# keeps Valgrind's logs to itself unless it finds a fault, and then fails).
set -u

usage() {
    echo "usage: $0 [--wrap TOOL] [--time-scale N] PROGRAM EXPECTED" >&2
    exit 2
}

wrap=
scale=1
while [ $# -gt 0 ]; do
    case $1 in
    --wrap) [ $# -ge 2 ] || usage; wrap=$2; shift 2 ;;
    --time-scale) [ $# -ge 2 ] || usage; scale=$2; shift 2 ;;
    --) shift; break ;;
    -*) usage ;;
    *) break ;;
    esac
done
[ $# -eq 2 ] || usage
program=$1
expected=$2
name=$(basename "$program")

# ---- Tools ------------------------------------------------------------------

filecheck=${FILECHECK:-}
if [ -z "$filecheck" ]; then
    for f in /usr/lib/llvm-*/bin/FileCheck; do
        [ -x "$f" ] && filecheck=$f
    done
fi
[ -n "$filecheck" ] || filecheck=$(command -v FileCheck 2>/dev/null)
if [ -z "$filecheck" ] || [ ! -x "$filecheck" ]; then
    echo "$name: cannot check the output: FileCheck was not found." >&2
    echo "  Install it with Debian's llvm-14-tools package (apt-get install llvm-14-tools)," >&2
    echo "  or set FILECHECK to its path." >&2
    exit 2
fi
if [ ! -x "$program" ]; then
    echo "$name: $program does not exist or is not executable; run make first." >&2
    exit 2
fi
if [ ! -r "$expected" ]; then
    echo "$name: no expected output file $expected" >&2
    exit 2
fi

# ---- What the expected file asks for ----------------------------------------

# Prints the values of one "# expect KEY:" line kind, one per line.
expect() {
    sed -n "s/^# expect $1: *//p" "$expected"
}

want_status=$(expect exit-status | tail -n 1)
want_status=${want_status:-0}
limit=$(expect time-limit | tail -n 1)
limit=${limit:-10}
limit=$(awk -v l="$limit" -v s="$scale" 'BEGIN { print l * s }')
mapfile -t want_stderr < <(expect stderr | grep -vx 'none')
mapfile -t passes < <(sed -n 's/^# pass \([A-Z][A-Z0-9_]*\) = \(.*\)/\1 \2/p' "$expected")
if [ ${#passes[@]} -eq 0 ]; then
    echo "$name: $expected has no '# pass PREFIX = ...' line, so nothing would be checked" >&2
    exit 2
fi

# ---- Run --------------------------------------------------------------------

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s%N)
# shellcheck disable=SC2086 # $wrap is empty or one word
timeout -k 5 "$limit" $wrap "$program" >"$tmp/stdout" 2>"$tmp/stderr"
status=$?
elapsed=$(awk -v s="$start" -v e="$(date +%s%N)" 'BEGIN { printf "%.2f", (e - s) / 1e9 }')

failures=0
fail() { # what went wrong, in plain words; then optional detail lines
    failures=$((failures + 1))
    echo "FAILED: $1"
    shift
    for line in "$@"; do echo "    $line"; done
}

# ---- Checks FileCheck cannot make -------------------------------------------

# timeout(1) says 124, or 137 when the lesson ignored its SIGTERM.
timed_out=$(awk -v e="$elapsed" -v l="$limit" 'BEGIN { print (e >= l) ? 1 : 0 }')
if [ "$status" -eq 124 ] || { [ "$status" -eq 137 ] && [ "$timed_out" = 1 ]; }; then
    fail "the lesson did not finish within $limit seconds, so it was stopped." \
        "A lesson that hangs is usually waiting for a result that never becomes ready."
elif [ "$status" -ne "$want_status" ]; then
    if [ "$status" -gt 128 ]; then
        fail "the lesson should exit with status $want_status, but it was killed by signal $((status - 128))."
    elif [ -n "$wrap" ]; then
        fail "the lesson should exit with status $want_status, but it exited with status $status." \
            "It ran under $(basename "$wrap"), whose own report (if any) is on stderr below."
    else
        fail "the lesson should exit with status $want_status, but it exited with status $status."
    fi
fi

mapfile -t got_stderr <"$tmp/stderr"
if [ ${#want_stderr[@]} -eq 0 ]; then
    if [ ${#got_stderr[@]} -ne 0 ]; then
        fail "nothing should be printed on stderr, but ${#got_stderr[@]} line(s) were."
    fi
elif [ ${#got_stderr[@]} -ne ${#want_stderr[@]} ]; then
    fail "stderr should have ${#want_stderr[@]} line(s), but it has ${#got_stderr[@]}." \
        "${want_stderr[@]/#/expected a line matching: }"
else
    for i in "${!want_stderr[@]}"; do
        if ! printf '%s\n' "${got_stderr[$i]}" | grep -Eq -- "${want_stderr[$i]}"; then
            fail "stderr line $((i + 1)) does not say what it should." \
                "expected a line matching: ${want_stderr[$i]}" \
                "got: ${got_stderr[$i]}"
        fi
    done
fi

# Prints the value of field KEY on the stdout line labelled LABEL.
field() { # label key
    awk -v label="$1:" -v key="$2" '
        index($0, label) == 1 {
            for (i = 1; i <= NF; i++)
                if (index($i, key "=") == 1) { print substr($i, length(key) + 2); exit }
        }' "$tmp/stdout"
}

compare() { # same|different "Label key, Label key"
    local how=$1 left right lv rv
    left=${2%%,*}
    right=${2#*,}
    right=${right# }
    lv=$(field "${left% *}" "${left##* }")
    rv=$(field "${right% *}" "${right##* }")
    if [ -z "$lv" ] || [ -z "$rv" ]; then
        fail "could not compare $left with $right: a line or field is missing from stdout."
    elif [ "$how" = same ] && [ "$lv" != "$rv" ]; then
        fail "$left and $right should be the same, but they differ." \
            "$left is $lv, $right is $rv"
    elif [ "$how" = different ] && [ "$lv" = "$rv" ]; then
        fail "$left and $right should differ, but both are $lv."
    fi
}
while IFS= read -r pair; do compare same "$pair"; done < <(expect same)
while IFS= read -r pair; do compare different "$pair"; done < <(expect different)

# ---- FileCheck passes -------------------------------------------------------

if [ ! -s "$tmp/stdout" ]; then
    fail "the lesson printed nothing on stdout."
else
    for p in "${passes[@]}"; do
        prefix=${p%% *}
        what=${p#* }
        if ! "$filecheck" --match-full-lines --check-prefix="$prefix" \
            --input-file="$tmp/stdout" "$expected" >"$tmp/filecheck" 2>&1; then
            fail "stdout does not match the $prefix lines of $(basename "$expected"): $what." \
                "FileCheck's report (the numbered lines are stdout):"
            sed -e "s|$tmp/stdout|stdout|g" -e 's/^/    | /' "$tmp/filecheck"
        fi
    done
fi

# ---- Verdict ----------------------------------------------------------------

if [ "$failures" -eq 0 ]; then
    echo "PASS: $name (${elapsed} s)"
    exit 0
fi
echo
echo "$name: $failures check(s) failed after ${elapsed} s (exit status $status)."
echo "---- stdout ----"
cat "$tmp/stdout"
echo "---- stderr ----"
cat "$tmp/stderr"
echo "----------------"
exit 1
