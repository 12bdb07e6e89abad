#!/usr/bin/env bash
# ensure_tools.sh - finds the tools the tests need, and installs the missing
# ones with apt-get (as root, or through `sudo -n`); otherwise prints the one
# command to run, and fails. `make check` runs it first. Usage:
#     scripts/ensure_tools.sh [--check] [--dry-run] [TOOL...]
#     scripts/ensure_tools.sh --print-filecheck
# TOOLs: ctest filecheck valgrind tsan (the default set), and, for CI, make
# gcc clang python3 inotifywait (so that make watch's test covers both ways). tsan means clang and its ThreadSanitizer runtime.
# The timelines' tests (mk/trace.mk) add xmllint jq chromium. mpi is Open
# MPI (mpicc and mpirun), for the MPI build (mk/mpi.mk).
#   --check            only report what is missing (exit 1), never install
#   --dry-run          print the install commands instead of running them
#   --print-filecheck  print the path of FileCheck (exit 1 if none): the one
#                      place that finds it, for the Makefile and the runner
# Each tool can be named by a variable, which also simulates a missing one
# when it points nowhere: FILECHECK, CTEST, VALGRIND, CLANG, TSAN_RUNTIME
# (the runtime's .a file), CHROMIUM, MPICC, MPIRUN. ENSURE_TOOLS_SUDO names sudo (tests set it to a
# path that does not exist, to see what a user without sudo is told), and
# ENSURE_TOOLS_APT_CACHE apt-cache (tests give a quick fake one).
# Exit status: 0 all present, 1 some still missing, 2 usage.
set -u

# ---- FileCheck ---------------------------------------------------------------

# Debian puts FileCheck in /usr/lib/llvm-N/bin (llvm-N-tools); other systems
# name it FileCheck or FileCheck-N on PATH. The newest N wins.
find_filecheck() {
    if [ -n "${FILECHECK:-}" ]; then
        echo "$FILECHECK"
        [ -x "$FILECHECK" ]
        return
    fi
    local f n best='' best_n=-1 d
    for f in /usr/lib/llvm-*/bin/FileCheck; do
        n=${f#/usr/lib/llvm-}; n=${n%%/*}
        if [ -x "$f" ] && [[ $n =~ ^[0-9]+$ ]] && [ "$n" -gt "$best_n" ]; then
            best=$f best_n=$n
        fi
    done
    [ -z "$best" ] && best=$(command -v FileCheck 2>/dev/null)
    if [ -z "$best" ]; then
        local IFS=:
        for d in $PATH; do
            for f in "${d:-.}"/FileCheck-[0-9]*; do
                n=${f##*-}
                if [ -x "$f" ] && [[ $n =~ ^[0-9]+$ ]] && [ "$n" -gt "$best_n" ]; then
                    best=$f best_n=$n
                fi
            done
        done
    fi
    [ -n "$best" ] || return 1
    echo "$best"
}

if [ "${1:-}" = --print-filecheck ]; then
    [ $# -eq 1 ] || { echo "usage: $0 --print-filecheck" >&2; exit 2; }
    find_filecheck
    exit
fi

# ---- Which tools --------------------------------------------------------------

install=1 dry=0
while [ $# -gt 0 ]; do
    case $1 in
    --check) install=0; shift ;;
    --dry-run) dry=1; shift ;;
    -*) echo "usage: $0 [--check] [--dry-run] [TOOL...] | --print-filecheck" >&2; exit 2 ;;
    *) break ;;
    esac
done
[ $# -gt 0 ] || set -- ctest filecheck valgrind tsan
apt_cache=${ENSURE_TOOLS_APT_CACHE:-apt-cache}

# The newest llvm-N-tools (or libclang-rt-N-dev, ...) that apt knows of.
newest_package() { # pattern-with-N fallback-N
    local n
    n=$($apt_cache pkgnames "${1%%N*}" 2>/dev/null |
        sed -n "s/^${1/N/\\([0-9][0-9]*\\)}\$/\\1/p" | sort -n | tail -n 1)
    echo "${1/N/${n:-$2}}"
}

clang=${CLANG:-clang}
# The ThreadSanitizer runtime of $clang: lib/linux/libclang_rt.tsan-ARCH.a
# (clang 14, Debian 12) or lib/ARCH-*/libclang_rt.tsan.a (newer clangs).
tsan_runtime() {
    if [ -n "${TSAN_RUNTIME:-}" ]; then
        [ -e "$TSAN_RUNTIME" ]
        return
    fi
    local dir arch f bin
    arch=$(uname -m)
    # Quick: /usr/lib/llvm-N/bin/clang keeps its runtimes in
    # /usr/lib/llvm-N/lib/clang/VERSION; else ask clang (a slower call).
    bin=$(readlink -f "$(command -v "$clang")")
    has() { # resource-dir...
        for dir in "$@"; do
            for f in "$dir/lib/linux/libclang_rt.tsan-$arch.a" "$dir/lib/$arch"-*/libclang_rt.tsan.a; do
                [ -e "$f" ] && return 0
            done
        done
        return 1
    }
    has "${bin%/bin/*}"/lib/clang/* || has "$("$clang" -print-resource-dir 2>/dev/null)"
}
# libclang-rt-N-dev for the clang that is there, or for the one `clang` would
# install (Debian's clang package depends on clang-N).
tsan_package() {
    local n
    n=$("$clang" -dumpversion 2>/dev/null)
    [ -z "$n" ] && n=$($apt_cache depends clang 2>/dev/null | sed -n 's/^ *Depends: clang-\([0-9][0-9]*\)$/\1/p' | head -n 1)
    echo "libclang-rt-${n%%.*}-dev"
}

missing=() packages=()
check() { # tool: appends to missing and packages
    case $1 in
    ctest) command -v "${CTEST:-ctest}" >/dev/null || { missing+=(ctest); packages+=(cmake); } ;;
    valgrind) command -v "${VALGRIND:-valgrind}" >/dev/null || { missing+=(valgrind); packages+=(valgrind); } ;;
    filecheck) find_filecheck >/dev/null ||
        { missing+=(FileCheck); packages+=("$(newest_package llvm-N-tools 14)"); } ;;
    tsan)
        if ! command -v "$clang" >/dev/null; then
            missing+=("clang (for ThreadSanitizer)"); packages+=(clang "$(tsan_package)")
        elif ! tsan_runtime; then
            missing+=("clang's ThreadSanitizer runtime"); packages+=("$(tsan_package)")
        fi ;;
    make | gcc | python3) command -v "$1" >/dev/null || { missing+=("$1"); packages+=("$1"); } ;;
    clang) command -v "$clang" >/dev/null || { missing+=(clang); packages+=(clang); } ;;
    inotifywait) command -v inotifywait >/dev/null ||
        { missing+=(inotifywait); packages+=(inotify-tools); } ;;
    xmllint) command -v xmllint >/dev/null || { missing+=(xmllint); packages+=(libxml2-utils); } ;;
    jq) command -v jq >/dev/null || { missing+=(jq); packages+=(jq); } ;;
    chromium) command -v "${CHROMIUM:-chromium}" >/dev/null || { missing+=(chromium); packages+=(chromium); } ;;
    # Both must run, not just exist: a half-installed Open MPI fails here.
    mpi) { "${MPICC:-mpicc}" --version && "${MPIRUN:-mpirun}" --version; } >/dev/null 2>&1 ||
        { missing+=("Open MPI (mpicc and mpirun)"); packages+=(openmpi-bin libopenmpi-dev); } ;;
    *) echo "$0: unknown tool $1 (ctest filecheck valgrind tsan make gcc clang python3 inotifywait xmllint jq chromium mpi)" >&2; exit 2 ;;
    esac
}
for tool in "$@"; do check "$tool"; done
[ ${#missing[@]} -eq 0 ] && exit 0

# ---- Install, or say how ---------------------------------------------------------

list() { local IFS=,; echo "${*}" | sed 's/,/, /g'; }
mapfile -t packages < <(printf '%s\n' "${packages[@]}" | awk '!seen[$0]++')
echo "Missing: $(list "${missing[@]}")." >&2

how=
sudo=${ENSURE_TOOLS_SUDO:-sudo}
if ! command -v apt-get >/dev/null; then
    echo "Install them with your system's package manager (Debian names: ${packages[*]})," >&2
    echo "or point FILECHECK, CTEST, VALGRIND or CLANG at them, then run make check again." >&2
    exit 1
elif [ "$(id -u)" = 0 ]; then
    how=root
elif command -v "$sudo" >/dev/null && "$sudo" -n true 2>/dev/null; then
    how=sudo
fi
if [ "$install" = 0 ] || [ -z "$how" ]; then
    echo "Install them with this command, then run make check again:" >&2
    echo "    sudo apt-get install --no-install-recommends ${packages[*]}" >&2
    exit 1
fi

as=()
[ "$how" = sudo ] && as=("$sudo" -n)
run() {
    echo "+ $*"
    [ "$dry" = 1 ] || "$@"
}
echo "Installing ${packages[*]} with apt-get${as:+ through sudo -n}."
run "${as[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq || exit 1
run "${as[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "${packages[@]}" || exit 1

[ "$dry" = 1 ] && { echo "(a dry run: nothing was installed)" >&2; exit 1; }
missing=() packages=()
for tool in "$@"; do check "$tool"; done
if [ ${#missing[@]} -gt 0 ]; then
    echo "Still missing after apt-get: $(list "${missing[@]}")." >&2
    exit 1
fi
echo "Installed."
