#!/usr/bin/env bash
# reset_exercise.sh - puts an exercise's starter back as shipped, that is as
# in git HEAD, after keeping the student's file in BUILD/backup/. `make
# reset-NN` runs it. Usage:
#     scripts/reset_exercise.sh [--force] BUILD NN
# It asks "y/N" first when stdin is a terminal; --force (make reset-NN
# FORCE=1) does not ask. With no terminal and no --force it changes nothing.
# Exit status: 0 reset, or nothing to do, or declined; 1 refused or cannot.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
usage() { echo "usage: $0 [--force] BUILD NN" >&2; exit 2; }

force=0
[ "${1:-}" = --force ] && { force=1; shift; }
[ $# -eq 2 ] || usage
build=$1 nn=$2
[[ $nn =~ ^[0-9][0-9]$ ]] || { echo "no exercise $nn: give its two digits, e.g. make reset-03" >&2; exit 1; }

if ! git -C "$src" rev-parse --verify -q HEAD >/dev/null 2>&1; then
    echo "Cannot reset exercise $nn: $src is not a git checkout, so there is no" >&2
    echo "shipped copy to restore. Take the starter from the archive you got the course in." >&2
    exit 1
fi

# The starter as shipped; it may be missing from the working tree.
rel=$(git -C "$src" ls-tree --name-only HEAD exercises/ | grep -E "^exercises/${nn}_[^/]*\.c$" | head -n 1)
if [ -z "$rel" ]; then
    # shellcheck disable=SC2046 # one word per exercise number
    echo "no exercise $nn in git HEAD; there are:" \
        $(git -C "$src" ls-tree --name-only HEAD exercises/ | sed -n 's|^exercises/\([0-9][0-9]\)_.*\.c$|\1|p') >&2
    exit 1
fi
file=$src/$rel
name=$(basename "$rel")

shipped=$(mktemp)
trap 'rm -f "$shipped"' EXIT
git -C "$src" show "HEAD:./$rel" >"$shipped" || exit 1

if [ -e "$file" ] && cmp -s "$file" "$shipped"; then
    echo "$rel is already as shipped: nothing to reset."
    exit 0
fi

if [ "$force" = 0 ]; then
    if [ ! -t 0 ]; then
        echo "make reset-$nn would overwrite $rel, and there is no terminal to ask you." >&2
        echo "To reset it anyway (your version is kept in ${build}/backup/): make reset-$nn FORCE=1" >&2
        exit 1
    fi
    printf 'Reset %s to the starter as shipped? Your version is kept in %s/backup/. [y/N] ' "$rel" "$build"
    read -r answer || answer=
    case $answer in
    y | Y | yes | YES | Yes) ;;
    *) echo "Nothing changed."; exit 0 ;;
    esac
fi

if [ -e "$file" ]; then
    mkdir -p "$build/backup" || exit 1
    stamp=$build/backup/$name.$(date +%Y%m%d-%H%M%S)
    backup=$stamp n=1
    while [ -e "$backup" ]; do backup=$stamp.$n; n=$((n + 1)); done
    cp -p "$file" "$backup" || exit 1
fi
cat "$shipped" >"$file" || exit 1
echo "Reset $rel to the starter as shipped (git HEAD)."
if [ -n "${backup:-}" ]; then
    echo "Your version is in $backup"
else
    echo "(It was missing, so there was nothing to back up.)"
fi
