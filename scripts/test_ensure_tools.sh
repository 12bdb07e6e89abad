#!/usr/bin/env bash
# test_ensure_tools.sh - checks scripts/ensure_tools.sh without installing or
# removing anything: a tool is "missing" when its variable (FILECHECK,
# CTEST, VALGRIND, TSAN_RUNTIME, MPICC, MPIRUN) points at a path that does not exist, and
# installing is a --dry-run. Also: the Makefile and the runner find the same
# FileCheck, and a user with neither root nor sudo is told the command.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
tool=$src/scripts/ensure_tools.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nowhere=$tmp/does-not-exist
unset FILECHECK CTEST VALGRIND CLANG TSAN_RUNTIME MPICC MPIRUN ENSURE_TOOLS_SUDO MAKEFLAGS MFLAGS
# apt-cache takes seconds to load; this one knows a few llvm-N-tools.
cat >"$tmp/apt-cache" <<'EOF'
#!/bin/sh
[ "$1" = pkgnames ] && printf '%s\n' llvm-9-tools llvm-14-tools llvm-99-tools llvm-14-dev llvm-runtime
exit 0
EOF
chmod +x "$tmp/apt-cache"
export ENSURE_TOOLS_APT_CACHE=$tmp/apt-cache

failed=0 checks=0
fail() { echo "FAILED: $*"; failed=$((failed + 1)); }
# expect_run STATUS NAME CMD...: runs CMD, output in $tmp/out
expect_run() {
    local want=$1 name=$2 status
    shift 2
    checks=$((checks + 1))
    "$@" >"$tmp/out" 2>&1
    status=$?
    [ "$status" = "$want" ] || { fail "$name: exit status $status, not $want"; sed 's/^/    | /' "$tmp/out"; }
}
says() { # name text
    grep -qF -- "$2" "$tmp/out" || { fail "$1: the output does not say: $2"; sed 's/^/    | /' "$tmp/out"; }
}

# ---- One FileCheck for all ----------------------------------------------------

expect_run 0 print-filecheck "$tool" --print-filecheck
fc=$(cat "$tmp/out")
[ -x "$fc" ] || fail "print-filecheck: '$fc' is not an executable"
expect_run 0 makefile-filecheck make -s --no-print-directory -C "$src" \
    --eval '__print_filecheck: ; @echo $(FILECHECK)' __print_filecheck
[ "$(cat "$tmp/out")" = "$fc" ] || fail "the Makefile's FILECHECK is $(cat "$tmp/out"), not $fc"
expect_run 0 all-present "$tool"
[ -s "$tmp/out" ] && fail "all-present: it should say nothing when nothing is missing"

# ---- Missing, simulated ---------------------------------------------------------

expect_run 1 print-missing env FILECHECK="$nowhere" "$tool" --print-filecheck
expect_run 2 runner-without-filecheck env FILECHECK="$nowhere" \
    "$src/scripts/run_lesson.sh" /bin/true "$src/expected_output/01_apply_async_callback.txt"
says runner-without-filecheck "FileCheck was not found at $nowhere"
says runner-without-filecheck "make tools"

expect_run 1 check-only env FILECHECK="$nowhere" VALGRIND="$nowhere" "$tool" --check
says check-only "Missing: FileCheck, valgrind."
says check-only "sudo apt-get install --no-install-recommends llvm-99-tools valgrind"
says check-only " valgrind"
# The timelines' tools: chromium is named by a variable too.
expect_run 1 check-chromium env CHROMIUM="$nowhere" "$tool" --check chromium xmllint jq
says check-chromium "Missing: chromium."
says check-chromium "sudo apt-get install --no-install-recommends chromium"
# Open MPI: present only when both mpicc and mpirun run.
expect_run 0 mpi-present "$tool" --check mpi
[ -s "$tmp/out" ] && fail "mpi-present: it should say nothing when Open MPI is there"
expect_run 1 check-mpicc env MPICC="$nowhere" "$tool" --check mpi
says check-mpicc "Missing: Open MPI (mpicc and mpirun)."
says check-mpicc "sudo apt-get install --no-install-recommends openmpi-bin libopenmpi-dev"
expect_run 1 check-mpirun env MPIRUN=/bin/false "$tool" --check mpi
says check-mpirun "Missing: Open MPI (mpicc and mpirun)."

if [ "$(id -u)" = 0 ]; then
    expect_run 1 dry-run env FILECHECK="$nowhere" CTEST="$nowhere" VALGRIND="$nowhere" \
        TSAN_RUNTIME="$nowhere" "$tool" --dry-run
    says dry-run "Missing: ctest, FileCheck, valgrind, clang's ThreadSanitizer runtime."
    says dry-run "+ env DEBIAN_FRONTEND=noninteractive apt-get update -qq"
    says dry-run "+ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends cmake llvm-99-tools valgrind libclang-rt-"
    says dry-run "(a dry run: nothing was installed)"
    grep -q '^+ sudo' "$tmp/out" && fail "dry-run: root needs no sudo"
fi

# Neither root nor sudo: the command to run, and a failure.
if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null; then
    as_user=(runuser -u nobody --)
else
    as_user=()
fi
if [ "$(id -u)" != 0 ] || [ ${#as_user[@]} -gt 0 ]; then
    expect_run 1 no-root-no-sudo "${as_user[@]}" env VALGRIND="$nowhere" \
        ENSURE_TOOLS_SUDO="$nowhere" "$tool"
    says no-root-no-sudo "Install them with this command, then run make check again:"
    says no-root-no-sudo "    sudo apt-get install --no-install-recommends valgrind"
    grep -q '^+ ' "$tmp/out" && fail "no-root-no-sudo: it tried to run apt-get"
fi

# Not root, but sudo -n works: apt-get through it (a fake sudo, dry run).
if [ ${#as_user[@]} -gt 0 ] || [ "$(id -u)" != 0 ]; then
    printf '#!/bin/sh\n[ "$1" = -n ] && shift\nexec "$@"\n' >"$tmp/sudo"
    chmod 755 "$tmp" "$tmp/sudo"
    expect_run 1 through-sudo "${as_user[@]}" env VALGRIND="$nowhere" \
        ENSURE_TOOLS_SUDO="$tmp/sudo" "$tool" --dry-run
    says through-sudo "Installing valgrind with apt-get through sudo -n."
    says through-sudo "+ $tmp/sudo -n env DEBIAN_FRONTEND=noninteractive apt-get update -qq"
    says through-sudo "+ $tmp/sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends valgrind"
fi

expect_run 2 unknown-tool "$tool" frobnicate

echo "test_ensure_tools: $checks checks, $failed failed"
[ "$failed" -eq 0 ]
