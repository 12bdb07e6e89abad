# shellcheck shell=sh disable=SC2154 # $src and $bin come from gen_ctest.sh
# ctest_mpi.sh - the MPI build's lesson tests, sourced by scripts/gen_ctest.sh
# with $src, $bin and test_line set. Only the main build folder gets them
# (build/asan, build/tsan, ... end otherwise): they run build/mpi's lessons,
# which `make check` builds with `make mpi`. Each lesson that applies runs
# as an MPI job (scripts/run_mpi_lessons.sh picks its expected file and its
# number of ranks); each known-wrong output must fail the MPI files. Labels
# mpi and nosan: sanitizer builds skip them, and Valgrind never runs them.
case $bin in
*/build)
    "$src/scripts/run_mpi_lessons.sh" --list "$bin/mpi" | while read -r nn what rest; do
        [ "$what" = skip ] && continue
        # A lesson takes up to 2.5 s here alone; 60 s leaves room for load.
        test_line "lesson_mpi_$nn" 60 "mpi;nosan" \
            "$src/scripts/run_mpi_lessons.sh" "$bin/mpi" "$nn"
    done
    for case in $("$src/scripts/test_mpi_expected.sh" --list); do
        test_line "mpi_expected_$case" 60 "mpi;nosan" \
            "$src/scripts/test_mpi_expected.sh" "$bin" "$case"
    done
    ;;
esac
