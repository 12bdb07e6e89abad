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
#
# An expected file in expected_output/exercises/ is an exercise's, and the
# messages then say "the exercise". It runs once per check in `make check`,
# so it starts few processes: bash does the arithmetic and the parsing.
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
name=${program##*/}
case $expected in
*/exercises/*) what=exercise ;;
*) what=lesson ;;
esac

# ---- Tools ------------------------------------------------------------------

filecheck=${FILECHECK:-}
[ -n "$filecheck" ] || filecheck=$("${BASH_SOURCE[0]%/*}/ensure_tools.sh" --print-filecheck)
if [ -z "$filecheck" ] || [ ! -x "$filecheck" ]; then
    echo "$name: cannot check the output: FileCheck was not found${filecheck:+ at $filecheck}." >&2
    echo "  make tools (or scripts/ensure_tools.sh filecheck) installs it," >&2
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

want_status=0 limit=10 want_stderr=() want_same=() want_different=() passes=()
pass_re='^# pass ([A-Z][A-Z0-9_]*) = (.*)$'
while IFS= read -r line || [ -n "$line" ]; do
    case $line in
    "# expect exit-status:"*) want_status=${line#*:} ;;
    "# expect time-limit:"*) limit=${line#*:} ;;
    "# expect stderr:"*) v=${line#*:}; v=${v#"${v%%[! ]*}"}; [ "$v" = none ] || want_stderr+=("$v") ;;
    "# expect same:"*) v=${line#*:}; want_same+=("${v#"${v%%[! ]*}"}") ;;
    "# expect different:"*) v=${line#*:}; want_different+=("${v#"${v%%[! ]*}"}") ;;
    "# pass "*) [[ $line =~ $pass_re ]] && passes+=("${BASH_REMATCH[1]} ${BASH_REMATCH[2]}") ;;
    esac
done <"$expected"
want_status=${want_status#"${want_status%%[! ]*}"} want_status=${want_status%% *}
limit=${limit#"${limit%%[! ]*}"} limit=${limit%% *}
want_status=${want_status:-0} limit=${limit:-10}

# Times in microseconds, in bash, results in REPLY: "1.5" -> 1500000.
usec() {
    local int=${1%%.*} frac=
    [[ $1 == *.* ]] && frac=${1#*.}
    frac=${frac}000000
    REPLY=$((10#${int:-0} * 1000000 + 10#${frac:0:6}))
}
seconds() { # microseconds -> "1.5", "5", "0.25"
    local f
    printf -v f '%06d' $(($1 % 1000000))
    while [[ $f == *0 ]]; do f=${f%0}; done
    REPLY=$(($1 / 1000000))${f:+.$f}
}
if [[ ! $limit =~ ^[0-9]+(\.[0-9]+)?$ ]] || [[ ! $scale =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
    echo "$name: the time limit ($limit) and --time-scale ($scale) must be numbers" >&2
    exit 2
fi
usec "$limit"; limit_us=$REPLY
usec "$scale"; limit_us=$((limit_us * REPLY / 1000000))
[ "$limit_us" -ge 10000 ] || limit_us=10000 # timeout(1) takes 0 as "no limit"
seconds "$limit_us"; limit=$REPLY
units=seconds
[ "$limit" = 1 ] && units=second
if [ ${#passes[@]} -eq 0 ]; then
    echo "$name: $expected has no '# pass PREFIX = ...' line, so nothing would be checked" >&2
    exit 2
fi

# ---- Run --------------------------------------------------------------------

# RUN_LESSON_TMPDIR: an empty folder of the caller's for the run's files,
# which it removes (scripts/test_run_lesson.sh saves two processes a run).
if [ -n "${RUN_LESSON_TMPDIR:-}" ]; then
    tmp=$RUN_LESSON_TMPDIR
else
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
fi
# The time in microseconds, in REPLY.
if [ -n "${EPOCHREALTIME:-}" ]; then now() { REPLY=${EPOCHREALTIME/[.,]/}; }
else now() { REPLY=$(date +%s%6N); }; fi
now; start=$REPLY
# When the program dies from a signal, bash itself reports it on its own
# stderr ("line 91: Segmentation fault"), which is not the program's: the
# braces send that to a file of its own. The report below says it in its
# own words.
# shellcheck disable=SC2086 # $wrap is empty or one word
{ timeout -k 5 "$limit" $wrap "$program" >"$tmp/stdout" 2>"$tmp/stderr"; } 2>"$tmp/shell"
status=$?
now; elapsed_us=$((REPLY - start))
printf -v elapsed '%d.%02d' $((elapsed_us / 1000000)) $((elapsed_us % 1000000 / 10000))

failures=0
fail() { # what went wrong, in plain words; then optional detail lines
    failures=$((failures + 1))
    echo "FAILED: $1"
    shift
    for line in "$@"; do echo "    $line"; done
}

# ---- Checks FileCheck cannot make -------------------------------------------

signal_name() { # number: what strsignal(3) says
    case $1 in
    1) echo Hangup ;; 2) echo Interrupt ;; 3) echo Quit ;; 4) echo "Illegal instruction" ;;
    5) echo "Trace/breakpoint trap" ;; 6) echo Aborted ;; 7) echo "Bus error" ;;
    8) echo "Floating point exception" ;; 9) echo Killed ;; 10) echo "User defined signal 1" ;;
    11) echo "Segmentation fault" ;; 12) echo "User defined signal 2" ;; 13) echo "Broken pipe" ;;
    14) echo "Alarm clock" ;; 15) echo Terminated ;; 31) echo "Bad system call" ;;
    *) echo "SIG$(kill -l "$1" 2>/dev/null)" ;;
    esac
}

# timeout(1) says 124, or 137 when the program ignored its SIGTERM.
if [ "$status" -eq 124 ] || { [ "$status" -eq 137 ] && [ "$elapsed_us" -ge "$limit_us" ]; }; then
    a=A
    [ "$what" = exercise ] && a=An
    fail "the $what did not finish within $limit $units, so it was stopped." \
        "$a $what that hangs is usually waiting for a result that never becomes ready."
elif [ "$status" -ne "$want_status" ]; then
    if [ "$status" -gt 128 ] && [ "$status" -lt 160 ]; then
        sig=$((status - 128))
        fail "the $what should exit with status $want_status, but the $what was killed by signal $sig ($(signal_name "$sig"))."
    elif [ -n "$wrap" ]; then
        fail "the $what should exit with status $want_status, but it exited with status $status." \
            "It ran under ${wrap##*/}, whose own report (if any) is on stderr below."
    else
        fail "the $what should exit with status $want_status, but it exited with status $status."
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
for pair in "${want_same[@]}"; do compare same "$pair"; done
for pair in "${want_different[@]}"; do compare different "$pair"; done

# ---- FileCheck passes -------------------------------------------------------

if [ ! -s "$tmp/stdout" ]; then
    fail "the $what printed nothing on stdout."
else
    for p in "${passes[@]}"; do
        prefix=${p%% *}
        purpose=${p#* }
        if ! "$filecheck" --match-full-lines --check-prefix="$prefix" \
            --input-file="$tmp/stdout" "$expected" >"$tmp/filecheck" 2>&1; then
            fail "stdout does not match the $prefix lines of ${expected##*/}: $purpose." \
                "FileCheck's report (the numbered lines are stdout):"
            while IFS= read -r line || [ -n "$line" ]; do
                printf '    | %s\n' "${line//"$tmp"\/stdout/stdout}"
            done <"$tmp/filecheck"
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
