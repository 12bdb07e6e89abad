#!/usr/bin/env bash
# check_svg.sh - checks the lesson pictures, docs/img/NN_name.svg (make
# timelines draws them): each is well-formed XML (xmllint) and shows the lanes
# its lesson needs. Usage:
#     scripts/check_svg.sh [SVG...]        (default: every docs/img/NN_*.svg)
# Every picture: lanes main and result-handler, the latter in the main
# process, and a PoolWorker lane. Then, by lesson number:
#     06  one callback, which starts after the last task ends and ends
#         before main's wait does
#     11  a worker_died marker, and one more worker lane than the pool's
#         processes (the replacement's)
#     13  three callbacks or more on the result-handler lane
# scripts/test_timeline.sh shows that a picture missing any of these fails.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -eq 0 ]; then
    set -- "$src"/docs/img/[0-9][0-9]_*.svg
    [ -e "$1" ] || { echo "check_svg: no docs/img/NN_*.svg (make timelines draws them)"; exit 1; }
fi
command -v xmllint >/dev/null || { echo "check_svg: xmllint not found (make tools installs it)"; exit 2; }

problems=0
problem() { echo "$1: $2"; problems=$((problems + 1)); }
# xp FILE EXPR: an XPath value; the SVG's elements are in the SVG namespace,
# hence local-name().
xp() { xmllint --xpath "$2" "$1" 2>/dev/null; }
lane() { echo "//*[local-name()='g'][@class='lane'][$1]"; }

for svg in "$@"; do
    name=$(basename "$svg")
    nn=${name%%_*}
    if ! xmllint --noout "$svg" 2>"${TMPDIR:-/tmp}/check_svg.$$"; then
        problem "$name" "not well-formed XML: $(head -n 1 "${TMPDIR:-/tmp}/check_svg.$$")"
        rm -f "${TMPDIR:-/tmp}/check_svg.$$"
        continue
    fi
    rm -f "${TMPDIR:-/tmp}/check_svg.$$"
    [ "$(xp "$svg" "count($(lane "@data-lane='main'"))")" -ge 1 ] ||
        problem "$name" "no lane main"
    [ "$(xp "$svg" "count($(lane "@data-kind='result-handler' and @data-process='main'"))")" -ge 1 ] ||
        problem "$name" "no result-handler lane in the main process"
    workers=$(xp "$svg" "count($(lane "@data-kind='worker'"))")
    [ "${workers:-0}" -ge 1 ] || problem "$name" "no PoolWorker lane"
    [ "$(xp "$svg" "count($(lane "@data-kind='worker' and starts-with(@data-lane,'PoolWorker-')"))")" = "$workers" ] ||
        problem "$name" "a worker lane not named PoolWorker-N"
    callbacks="$(lane "@data-kind='result-handler'")/*[@class='slice'][@data-kind='callback']"
    case $nn in
    06)
        # Positions in the picture: x is the start, x + width the end.
        python3 - "$svg" <<'EOF' || problems=$((problems + 1))
import sys, xml.etree.ElementTree as ET
name = sys.argv[1].rsplit("/", 1)[-1]
ns = "{http://www.w3.org/2000/svg}"
lanes = [g for g in ET.parse(sys.argv[1]).iter(ns + "g") if g.get("class") == "lane"]
def slices(kind, lane_kind=None, lane=None):
    return [(float(r.get("x")), float(r.get("x")) + float(r.get("width")))
            for g in lanes if (lane_kind is None or g.get("data-kind") == lane_kind)
            and (lane is None or g.get("data-lane") == lane)
            for r in g.iter(ns + "rect") if r.get("class") == "slice" and r.get("data-kind") == kind]
cbs, tasks, waits = slices("callback", "result-handler"), slices("task", "worker"), slices("wait", lane="main")
why = None
if len(cbs) != 1:
    why = f"{len(cbs)} callbacks, not 1"
elif not tasks or not waits:
    why = "no task or no wait on main"
elif cbs[0][0] < max(e for s, e in tasks) - 0.5:
    why = "the callback starts before the last task ends"
elif cbs[0][1] > max(e for s, e in waits) + 0.5:
    why = "the callback ends after main's wait"
if why:
    print(f"{name}: {why}")
sys.exit(1 if why else 0)
EOF
        ;;
    11)
        [ "$(xp "$svg" "count(//*[@class='death'])")" -ge 1 ] || problem "$name" "no worker_died marker"
        processes=$(xp "$svg" "sum(//*[@class='pool']/@data-processes)")
        [[ $processes =~ ^[0-9]+$ ]] && [ "$workers" -eq $((processes + 1)) ] ||
            problem "$name" "$workers worker lanes, not the pool's ${processes:-?} processes + 1"
        ;;
    13)
        n=$(xp "$svg" "count($callbacks)")
        [ "$n" -ge 3 ] || problem "$name" "$n callbacks on the result-handler lane, not 3"
        ;;
    esac
done
if [ "$problems" -ne 0 ]; then
    echo "check_svg: $problems problem(s) in $# picture(s)"
    exit 1
fi
echo "check_svg: $# pictures show their lanes"
