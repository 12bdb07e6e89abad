#!/usr/bin/env bash
# test_timeline.sh - checks scripts/timeline.py on the hand-made traces in
# tests/timeline/ (tests/timeline/make_fixtures.py writes them): 80 columns,
# the lanes, ASCII only under NO_COLOR and under LC_ALL=C, colour codes with
# --color, a truncated trace drawn with one line on stderr, bad input refused
# with exit status 2, and scripts/check_svg.sh's own test. Each check is also
# given an input it must reject, so that a check that passes everything fails.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
tl=$src/scripts/timeline.py
fx=$src/tests/timeline
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset NO_COLOR LC_ALL LC_CTYPE
# The interpreter itself, once: a pyenv shim takes half a second a call.
python3() { "$py" "$@"; }
py=$(command python3 -c 'import sys; print(sys.executable)') || exit 2

failed=0 checks=0
fail() { echo "FAILED: $*"; failed=$((failed + 1)); }
show() { sed 's/^/    | /' "$1" | head -n 40; }

# ---- The checks: each returns 0 when the output (a file) has the property ----

# Every line of every file fits 80 columns, counting display width, escape
# codes aside. (One python3 for many files: its start is slow under pyenv.)
fits() { # file...
    python3 - "$@" <<'EOF'
import re, sys, unicodedata
bad = 0
for path in sys.argv[1:]:
    text = open(path, encoding="utf-8", errors="replace").read()
    for n, line in enumerate(text.split("\n"), 1):
        line = re.sub(r"\x1b\[[0-9;]*m", "", line)
        w = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)
        if w > 80:
            print(f"    {path.rsplit('/', 1)[-1]} line {n} is {w} columns wide: {line!r}")
            bad = 1
sys.exit(bad)
EOF
}
ascii_only() { ! LC_ALL=C grep -q '[^ -~]' "$1"; }   # printable ASCII, no ESC
has_colour() { grep -q $'\x1b\\[[0-9;]*m' "$1"; }
has_boxes() { grep -q '│' "$1"; }
# The lanes named, each as a row label: "  NAME   |" or "  NAME   │".
has_lanes() { # file lane...
    local f=$1 lane
    shift
    for lane in "$@"; do
        grep -qE "^  $(printf '%s' "$lane" | sed 's/[][().*^$]/\\&/g') +[|│]" "$f" ||
            { echo "    no lane $lane"; return 1; }
    done
}

# expect pass|fail NAME CHECK ARGS...: the check must pass (or fail).
expect() {
    local want=$1 name=$2
    shift 2
    checks=$((checks + 1))
    "$@" >"$tmp/why" 2>&1
    local got=$?
    if [ "$want" = pass ] && [ $got -ne 0 ]; then
        fail "$name"; show "$tmp/why"
    elif [ "$want" = fail ] && [ $got -eq 0 ]; then
        fail "$name: the check passed a wrong input"
    fi
}

# draw NAME ENV... -- ARGS...: runs timeline.py, stdout in $tmp/NAME.out,
# stderr in $tmp/NAME.err, status in $tmp/NAME.rc.
draw() {
    local name=$1
    shift
    local envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    env "${envs[@]}" timeout 60 "$py" "$tl" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    echo $? >"$tmp/$name.rc"
}
status_is() { [ "$(cat "$tmp/$1.rc")" = "$2" ] || { echo "    exit status $(cat "$tmp/$1.rc"), not $2"; show "$tmp/$1.err"; return 1; }; }
lines_of() { [ "$(wc -l <"$1")" -eq "$2" ] || { echo "    $(wc -l <"$1") lines, not $2:"; show "$1"; return 1; }; }

# ---- Every fixture, in every mode -------------------------------------------------

for f in basic queue death two_pools; do
    draw "$f.nocolor" LANG=C.UTF-8 NO_COLOR=1 -- "$fx/$f.json"
    draw "$f.c" LC_ALL=C -- "$fx/$f.json"
    draw "$f.colour" LANG=C.UTF-8 -- --color "$fx/$f.json"
    draw "$f.utf8" LANG=C.UTF-8 -- "$fx/$f.json"
    for mode in nocolor c colour utf8; do
        expect pass "$f $mode: exit status 0" status_is "$f.$mode" 0
    done
    expect pass "$f: fits 80 columns in every mode" fits "$tmp/$f".{nocolor,c,colour,utf8}.out
    expect pass "$f under NO_COLOR: ASCII only, no escape codes" ascii_only "$tmp/$f.nocolor.out"
    expect pass "$f under LC_ALL=C: ASCII only, no escape codes" ascii_only "$tmp/$f.c.out"
    expect pass "$f --color: colour codes" has_colour "$tmp/$f.colour.out"
    expect pass "$f --color: box characters" has_boxes "$tmp/$f.colour.out"
    # Not a terminal: box characters, but no colour.
    expect pass "$f UTF-8, not a tty: box characters" has_boxes "$tmp/$f.utf8.out"
    expect fail "$f UTF-8, not a tty: no colour" has_colour "$tmp/$f.utf8.out"
done
# The checks themselves reject what they must.
draw wide LC_ALL=C -- --width 100 "$fx/two_pools.json"
expect fail "fits: a 100-column drawing" fits "$tmp/wide.out"
expect fail "ascii_only: a --color drawing" ascii_only "$tmp/basic.colour.out"
expect fail "has_colour: a NO_COLOR drawing" has_colour "$tmp/basic.nocolor.out"
expect fail "has_boxes: an LC_ALL=C drawing" has_boxes "$tmp/basic.c.out"

# ---- Lanes and marks ------------------------------------------------------------------

expect pass "basic: its lanes" has_lanes "$tmp/basic.nocolor.out" \
    main task-handler result-handler PoolWorker-1 PoolWorker-2
# The lanes under "main process" up to the next heading.
in_main() { # file lane
    awk -v lane="$2" '/^main process, pid/ { m = 1; next } /^[^ ]/ { m = 0 }
        m && index($0, "  " lane " ") == 1 { found = 1 } END { exit !found }' "$1"
}
expect pass "basic: the callback's lane is in the main process" in_main "$tmp/basic.nocolor.out" result-handler
expect fail "in_main: a worker's lane is not" in_main "$tmp/basic.nocolor.out" PoolWorker-1
expect pass "basic: a result arrives at its callback (^)" \
    grep -qE '^   result arrives +\| +\^' "$tmp/basic.nocolor.out"
expect pass "basic: a time axis in ms" grep -qE '^time \(ms\) +\|\+-+\+' "$tmp/basic.nocolor.out"
expect pass "death: the replacement's lane" has_lanes "$tmp/death.nocolor.out" PoolWorker-3
expect pass "death: X on the dead worker's lane" grep -qE '^  PoolWorker-2 +\|2+X' "$tmp/death.nocolor.out"
expect pass "death: the death, said" grep -qF 'X PoolWorker-2 (pid 305) died at 31.1 ms: signal 9, in job 2 item 0' "$tmp/death.nocolor.out"
expect pass "death: the error callback (!)" grep -qE '^   result arrives +\| +!' "$tmp/death.nocolor.out"
expect pass "two_pools: both pools' lanes" has_lanes "$tmp/two_pools.nocolor.out" \
    "result-handler" "result-handler (pool 2)" "task-handler (pool 2)" "PoolWorker-1" \
    "PoolWorker-1 (pool 2)" "PoolWorker-2 (pool 2)"
expect pass "two_pools: the jobs told apart" grep -qF '2=pool 2 job 1 apply' "$tmp/two_pools.nocolor.out"
expect pass "two_pools: the terminate (T)" grep -qE '^  main +\|.*T' "$tmp/two_pools.nocolor.out"
expect pass "queue: three callbacks queued, one long" \
    grep -qE '^  result-handler +\|1{40,}' "$tmp/queue.nocolor.out"
# A trace without its result handler lacks that lane, and the check says so.
jq -c 'map(select(.tid != 103))' "$fx/basic.json" >"$tmp/no_rh.json"
draw no_rh LC_ALL=C -- "$tmp/no_rh.json"
expect fail "has_lanes: a trace without a result-handler" has_lanes "$tmp/no_rh.out" result-handler
expect fail "has_lanes: basic has no PoolWorker-3" has_lanes "$tmp/basic.nocolor.out" PoolWorker-3

# ---- A truncated trace -------------------------------------------------------------------

draw trunc LC_ALL=C -- "$fx/truncated.json"
expect pass "truncated: exit status 0" status_is trunc 0
expect pass "truncated: one line on stderr" lines_of "$tmp/trunc.err" 1
expect pass "truncated: it says so, and after how many events" \
    grep -qF "truncated.json is truncated: drawing its first 22 events" "$tmp/trunc.err"
expect pass "truncated: drawn as far as it goes" has_lanes "$tmp/trunc.out" main result-handler PoolWorker-1
expect pass "truncated: the header says so" grep -qF "(truncated: 22 events)" "$tmp/trunc.out"
expect pass "truncated: fits 80 columns" fits "$tmp/trunc.out"
# A whole trace is not called truncated.
expect fail "truncated message: a whole trace" grep -q truncated "$tmp/basic.c.err" "$tmp/basic.c.out"
# The SVG of a truncated trace says so too.
draw trunc_svg LC_ALL=C -- --svg "$tmp/trunc.svg" "$fx/truncated.json"
expect pass "truncated SVG: exit status 0" status_is trunc_svg 0
expect pass "truncated SVG: marked" grep -q 'data-truncated="yes"' "$tmp/trunc.svg"

# ---- Bad input: one line on stderr, nothing drawn, exit status 2 -------------------------

: >"$tmp/empty.json"
echo 'hello, world' >"$tmp/text.txt"
echo '{"name": "not a trace"}' >"$tmp/object.json"
printf '[\n,{"ph":"M","name":"process_name","pid":1,"tid":1,"args":{"name":"main"}}\n]\n' >"$tmp/meta_only.json"
printf '[\n{"ph":"X","na\n' >"$tmp/cut_first.json"
for bad in empty.json text.txt object.json meta_only.json cut_first.json does-not-exist.json; do
    draw "bad_$bad" LC_ALL=C -- "$tmp/$bad"
    expect pass "bad input $bad: exit status 2" status_is "bad_$bad" 2
    expect pass "bad input $bad: one line on stderr" lines_of "$tmp/bad_$bad.err" 1
    expect pass "bad input $bad: nothing on stdout" lines_of "$tmp/bad_$bad.out" 0
done
expect pass "bad input: the message names the file" grep -qF "text.txt is not a trace" "$tmp/bad_text.txt.err"
expect fail "status_is: a good trace is not refused" status_is basic.c 2

# ---- The SVG ----------------------------------------------------------------------------

for f in basic queue death two_pools; do
    draw "$f.svg" LC_ALL=C -- --svg "$tmp/$f.svg" "$fx/$f.json"
    expect pass "$f --svg: exit status 0" status_is "$f.svg" 0
    expect pass "$f --svg: well-formed" xmllint --noout "$tmp/$f.svg"
done
lanes() { xmllint --xpath '//*[local-name()="g"][@class="lane"]/@data-lane' "$1" 2>/dev/null |
    sed 's/^ *data-lane="\(.*\)"$/\1/'; }
expect pass "two_pools --svg: eight lanes, both pools'" test "$(lanes "$tmp/two_pools.svg" | tr '\n' ,)" = \
    "main,task-handler,result-handler,task-handler (pool 2),result-handler (pool 2),PoolWorker-1,PoolWorker-1 (pool 2),PoolWorker-2 (pool 2),"
expect fail "lanes: basic's are not two pools'" test "$(lanes "$tmp/basic.svg" | tr '\n' ,)" = \
    "main,task-handler,result-handler,task-handler (pool 2),result-handler (pool 2),PoolWorker-1,PoolWorker-1 (pool 2),PoolWorker-2 (pool 2),"
expect pass "death --svg: a death marker" test "$(xmllint --xpath 'count(//*[@class="death"])' "$tmp/death.svg")" = 1
expect pass "basic --svg: one flow arrow" test "$(xmllint --xpath 'count(//*[@class="flow"])' "$tmp/basic.svg")" = 1
expect pass "basic --svg: 960 px wide" grep -q '<svg [^>]*width="960"' "$tmp/basic.svg"
head -c 2000 "$tmp/basic.svg" >"$tmp/cut.svg"
expect fail "xmllint: a cut SVG" xmllint --noout "$tmp/cut.svg"

# check_svg.sh, on SVGs drawn from the fixtures under lesson names: the right
# picture passes, a picture missing what its lesson needs fails.
mkdir -p "$tmp/img"
svg_as() { python3 "$tl" --svg "$tmp/img/$2.svg" "$1" 2>/dev/null; }
check_one() { "$src/scripts/check_svg.sh" "$tmp/img/$1.svg"; }
svg_as "$fx/basic.json" 04_basic && expect pass "check_svg: 04 from basic" check_one 04_basic
svg_as "$tmp/no_rh.json" 04_no_rh && expect fail "check_svg: no result-handler lane" check_one 04_no_rh
svg_as "$fx/death.json" 11_death && expect pass "check_svg: 11 from death" check_one 11_death
svg_as "$fx/basic.json" 11_basic && expect fail "check_svg: 11 without a death" check_one 11_basic
jq -c 'map(select(.pid != 306))' "$fx/death.json" >"$tmp/no_new.json"
svg_as "$tmp/no_new.json" 11_no_new && expect fail "check_svg: 11 without the new worker's lane" check_one 11_no_new
svg_as "$fx/queue.json" 13_queue && expect pass "check_svg: 13 from queue" check_one 13_queue
svg_as "$fx/basic.json" 13_basic && expect fail "check_svg: 13 with one callback" check_one 13_basic
svg_as "$fx/basic.json" 06_basic && expect pass "check_svg: 06 from basic" check_one 06_basic
svg_as "$fx/death.json" 06_death && expect fail "check_svg: 06 with two callbacks" check_one 06_death
# The callback moved to before its task's end.
jq -c 'map(if .name == "callback" then .ts -= 60000 else . end)' "$fx/basic.json" >"$tmp/early.json"
svg_as "$tmp/early.json" 06_early && expect fail "check_svg: 06 with an early callback" check_one 06_early
cp "$tmp/cut.svg" "$tmp/img/01_cut.svg"
expect fail "check_svg: a cut SVG" check_one 01_cut

echo "test_timeline: $checks checks, $failed failed"
[ "$failed" -eq 0 ]
