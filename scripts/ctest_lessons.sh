# ctest_lessons.sh - the lesson tests, sourced by scripts/gen_ctest.sh with
# $src, $bin and test_line set. Each lesson is checked twice: as is (label
# lesson) and under Valgrind (label memcheck), where the same output check
# runs with time limits twenty times longer.
for c in "$src"/lessons/[0-9][0-9]_*.c; do
    [ -e "$c" ] || continue
    lesson=$(basename "$c" .c)
    nn=${lesson%%_*}
    test_line "lesson_$nn" 60 lesson \
        "$src/scripts/run_lesson.sh" "$bin/lessons/$lesson" "$src/expected_output/$lesson.txt"
    test_line "memcheck_lesson_$nn" 600 memcheck \
        "$src/scripts/run_lesson.sh" --wrap "$src/scripts/memcheck.sh" --time-scale 20 \
        "$bin/lessons/$lesson" "$src/expected_output/$lesson.txt"
done
# The learner's tools: the runner, make watch, the tools' set-up, make help.
test_line run_lesson_selftest 120 runner "$src/scripts/test_run_lesson.sh"
test_line watch_selftest 120 runner "$src/scripts/test_watch.sh"
test_line ensure_tools_selftest 60 runner "$src/scripts/test_ensure_tools.sh"
test_line doc_markers 60 docs "$src/scripts/check_doc_markers.sh"
test_line make_help 60 docs "$src/scripts/check_make_help.sh" --selftest
