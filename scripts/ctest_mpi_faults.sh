# shellcheck shell=sh disable=SC2154 # $src and $bin come from gen_ctest.sh
# ctest_mpi_faults.sh - the MPI fault tests (tests/mpi/), sourced by
# scripts/gen_ctest.sh with $src, $bin and test_line set. They run only from
# the main build folder (build/), on the MPI build that make mpi puts in
# build/mpi, and only where Open MPI is installed. Each runs as a job under
# tests/mpi/run_mpi_test.sh, which bounds the job's time and checks that no
# process of it is left. Labels "mpi;nosan": a sanitizer build skips them;
# none is "memcheck", since Valgrind under mpirun is not what they test.
case $bin in
*/build)
    if command -v mpicc >/dev/null 2>&1 && command -v mpirun >/dev/null 2>&1; then
        mpi_bin=$bin/mpi/tests
        run=$src/tests/mpi/run_mpi_test.sh
        # Open MPI's own words when a rank dies, as tests/mpi/*.c provoke.
        test_line mpi_task_segv 60 "mpi;nosan" "$run" --fails --bound 20 \
            --expect 'process rank 1 .* exited on signal 11 [(]Segmentation fault[)]' \
            --absent 'went on' "$mpi_bin/mpi_task_segv"
        test_line mpi_task_exit 60 "mpi;nosan" "$run" --fails --bound 20 \
            --expect 'exited with non-zero status' --expect 'Exit code: +3' \
            --absent 'went on' "$mpi_bin/mpi_task_exit"
        test_line mpi_rank_killed 60 "mpi;nosan" "$run" --fails --bound 20 \
            --expect 'process rank 1 .* exited on signal 9 [(]Killed[)]' \
            --absent 'went on' "$mpi_bin/mpi_rank_killed"
        test_line mpi_parent_killed 60 "mpi;nosan" "$run" --fails --bound 20 \
            --expect 'process rank 0 .* exited on signal 9 [(]Killed[)]' \
            --absent 'went on' "$mpi_bin/mpi_parent_killed"
        test_line mpi_callback_fail 90 "mpi;nosan" "$run" --bound 30 "$mpi_bin/mpi_callback_fail"
        test_line mpi_terminate 120 "mpi;nosan" "$run" --bound 20 "$mpi_bin/mpi_terminate"
        test_line mpi_unnamed_task 90 "mpi;nosan" "$run" --bound 30 "$mpi_bin/mpi_unnamed_task"
        test_line mpi_other_build 180 "mpi;nosan" "$src/tests/mpi/other_build.sh" "$bin/mpi"
        test_line mpi_misuse 90 "mpi;nosan" "$run" --bound 30 "$mpi_bin/mpi_misuse"
        test_line mpi_misuse_one_rank 60 "mpi;nosan" "$run" --np 1 --bound 20 "$mpi_bin/mpi_misuse"
        # Open MPI's own notice of MPI_Abort is not always printed: in 4 of
        # 8 runs here its show_help failed ("Data unpack had inadequate
        # space"), so only the pool's line is required.
        test_line mpi_pool_left_open 60 "mpi;nosan" "$run" --fails --bound 20 \
            --expect '^pool: rank 0 exits with an MPI pool not destroyed; the job is aborted$' \
            "$mpi_bin/mpi_pool_left_open"
        test_line mpi_misuse_no_mpirun 60 "mpi;nosan" "$run" --plain --bound 20 "$mpi_bin/mpi_misuse"
        test_line mpi_same_rules 120 "mpi;nosan" "$run" --bound 60 "$mpi_bin/mpi_same_rules"
        test_line mpi_driver_selftest 120 "mpi;nosan" "$src/tests/mpi/test_driver.sh" "$bin/mpi"
    fi
    ;;
esac
