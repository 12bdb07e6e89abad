#!/usr/bin/env bash
# hint.sh - shows an exercise's hints one at a time. `make hint-NN` runs it.
# Usage:
#     scripts/hint.sh [--show N] BUILD NN
# The hints are the bullets of the "## Hints" section of
# docs/exercises/NN_*.md: a bullet starts with "- " and goes on over the
# indented lines below it. Each call shows the hint after the last one shown,
# which BUILD/hints/NN remembers; --show N shows hint N (and goes on from
# there). Needs nothing built.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
usage() { echo "usage: $0 [--show N] BUILD NN" >&2; exit 2; }

show=
if [ "${1:-}" = --show ]; then
    [ $# -ge 2 ] || usage
    show=$2
    shift 2
fi
[ $# -eq 2 ] || usage
build=$1 nn=$2

doc=
for f in "$src"/docs/exercises/"$nn"_*.md; do [ -e "$f" ] && doc=$f; done
if [ -z "$doc" ] || [[ ! $nn =~ ^[0-9][0-9]$ ]]; then
    # shellcheck disable=SC2046 # one word per exercise number
    echo "no exercise $nn; there are:" \
        $(cd "$src/docs/exercises" && ls [0-9][0-9]_*.md | cut -c1-2) >&2
    exit 2
fi

# One hint per NUL-terminated record, each line of it without its indent.
mapfile -d '' -t hints < <(awk '
    /^## / { inside = ($0 == "## Hints"); next }
    !inside { next }
    /^- / { if (hint != "") printf "%s%c", hint, 0; hint = substr($0, 3); next }
    /^[ \t]+[^ \t]/ && hint != "" { sub(/^[ \t]+/, ""); hint = hint "\n" $0; next }
    /^[ \t]*$/ { next }
    { if (hint != "") printf "%s%c", hint, 0; hint = "" }
    END { if (hint != "") printf "%s%c", hint, 0 }' "$doc")
count=${#hints[@]}
if [ "$count" -eq 0 ]; then
    echo "${doc#"$src"/} has no hints (no bullets under \"## Hints\")." >&2
    exit 2
fi

state=$build/hints/$nn
seen=0
[ -r "$state" ] && read -r seen <"$state"
[[ $seen =~ ^[0-9]+$ ]] || seen=0

if [ -n "$show" ]; then
    if [[ ! $show =~ ^[0-9]+$ ]] || [ "$show" -lt 1 ] || [ "$show" -gt "$count" ]; then
        echo "Exercise $nn has $count hints: N must be 1 to $count, not $show." >&2
        exit 2
    fi
    n=$show
elif [ "$seen" -ge "$count" ]; then
    echo "No more hints for exercise $nn: you have seen all $count."
    echo "Start over with: make hint-$nn N=1   (or see one again with N=2, ...)"
    echo "The statement: ${doc#"$src"/}"
    exit 0
else
    n=$((seen + 1))
fi

mkdir -p "$build/hints" && echo "$n" >"$state"
echo "Exercise $nn, hint $n of $count:"
printf '%s\n' "${hints[$((n - 1))]}" | sed 's/^/  /'
left=$((count - n))
if [ "$left" -gt 0 ]; then
    echo "$left more: run make hint-$nn again."
else
    echo "That was the last hint. make hint-$nn N=1 starts over."
fi
