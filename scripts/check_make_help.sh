#!/usr/bin/env bash
# check_make_help.sh - fails if `make help` misses a target, or names one
# that does not exist. Usage:
#     scripts/check_make_help.sh [--selftest | --extra-makefile FILE]
# The targets are those make itself knows (`make -pq`) from the Makefile and
# mk/*.mk: every one whose name has no "/" or leading ".", and is not listed
# in HELP_INTERNAL (targets that scripts call). A pattern target counts as
# NN for its %: exercise-% is documented as "make exercise-NN".
# --extra-makefile adds a makefile to read, for this check's own test: a
# target there that no "## make" line names must make it fail.
# --selftest first shows that it does (the CTest test make_help runs that).
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" = --selftest ]; then
    extra=$(mktemp)
    printf 'undocumented-target:\n\t@true\nundocumented-%%:\n\t@true\n' >"$extra"
    out=$("$0" --extra-makefile "$extra" 2>&1)
    status=$?
    rm -f "$extra"
    if [ "$status" -ne 1 ] || [[ $out != *"undocumented-NN undocumented-target"* ]]; then
        echo "FAILED: an undocumented target did not fail this check (exit status $status):"
        printf '%s\n' "$out" | sed 's/^/    | /'
        exit 1
    fi
    exec "$0"
fi
extra=()
if [ "${1:-}" = --extra-makefile ]; then
    [ $# -eq 2 ] || { echo "usage: $0 [--extra-makefile FILE]" >&2; exit 2; }
    extra=(-f Makefile -f "$(cd "$(dirname "$2")" && pwd)/$(basename "$2")")
fi
cd "$src" || exit 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset MAKEFLAGS MFLAGS

# make -p prints its database: "# Not a target:" marks a file that is no
# target; pattern rules come under "# Implicit Rules".
make -pqrR --no-print-directory "${extra[@]}" BUILD="$tmp/build" >"$tmp/db" 2>"$tmp/db.err"
if ! grep -q '^# Files' "$tmp/db"; then
    echo "make -pq did not print its database:"
    cat "$tmp/db.err"
    exit 2
fi
awk '/^# Not a target:/ { skip = 1; next }
     /^[A-Za-z][A-Za-z0-9_-]*(%[A-Za-z0-9_-]*)?:/ {
         name = $0; sub(/:.*/, "", name); if (!skip) print name }
     { skip = 0 }' "$tmp/db" | sed 's/%/NN/' | sort -u >"$tmp/targets"
internal=$(sed -n 's/^HELP_INTERNAL := //p' "$tmp/db")
for t in $internal; do echo "$t"; done | sort -u >"$tmp/internal"

make -s --no-print-directory BUILD="$tmp/build" help >"$tmp/help" 2>&1 || {
    echo "make help failed:"
    cat "$tmp/help"
    exit 1
}
sed -n 's/^make \([^ ]*\).*/\1/p' "$tmp/help" | sort -u >"$tmp/helped"

failed=0
missing=$(comm -23 "$tmp/targets" "$tmp/helped" | comm -23 - "$tmp/internal")
if [ -n "$missing" ]; then
    failed=1
    echo "FAILED: make help does not list these targets:" $missing
    echo "    Add a \"## make TARGET   what it does\" line beside each, in the file that defines it,"
    echo "    or name it in HELP_INTERNAL (Makefile) if only scripts call it."
fi
stale=$(comm -13 "$tmp/targets" "$tmp/helped")
if [ -n "$stale" ]; then
    failed=1
    echo "FAILED: make help lists targets that do not exist:" $stale
fi
if [ "$failed" = 0 ]; then
    echo "make help lists all $(wc -l <"$tmp/helped") targets; internal:" $internal
fi
exit "$failed"
