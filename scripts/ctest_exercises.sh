# ctest_exercises.sh - the exercises' self-check, sourced by
# scripts/gen_ctest.sh with $src, $bin and test_line set (label exercises).
# A check proves something only if it can fail, so for each exercise:
#   exercise_NN_solution_passes  the reference solution passes its check;
#   exercise_NN_starter_fails    the starter as shipped fails it. This test
#       passes when the check fails; it is skipped (return code 77) once
#       the starter differs from exercises/starters.sha256, that is, once a
#       student has worked on it. `make grade-selfcheck` fails instead.
# Plus exercise_layout: every exercise has its solution, check and doc.
# (test_line sets $name, so the variables here are ex_*.)
exercise_test() { # test-name pass|fail program-dir exercise-name
    ex_test=$1 ex_want=$2 ex_dir=$3 ex_name=$4
    ex_exp=$src/expected_output/exercises/$ex_name.txt
    set -- --expect "$ex_want" --verbose
    if grep -q '^# grade: tsan' "$ex_exp"; then
        set -- "$@" --tsan "$ex_dir/tsan/$ex_name"
    fi
    if [ "$ex_want" = fail ]; then
        set -- "$@" --starter "$src/exercises/$ex_name.c"
    fi
    test_line "$ex_test" 120 exercises "$src/scripts/check_exercise.sh" "$@" \
        "$ex_dir/$ex_name" "$ex_exp"
}

for ex_c in "$src"/exercises/[0-9][0-9]_*.c; do
    [ -e "$ex_c" ] || continue
    ex_base=$(basename "$ex_c" .c)
    ex_nn=${ex_base%%_*}
    exercise_test "exercise_${ex_nn}_solution_passes" pass "$bin/exercises/solutions" "$ex_base"
    exercise_test "exercise_${ex_nn}_starter_fails" fail "$bin/exercises" "$ex_base"
    echo "set_tests_properties(exercise_${ex_nn}_starter_fails PROPERTIES SKIP_RETURN_CODE 77)"
done
test_line exercise_layout 60 "exercises;docs" "$src/scripts/check_exercise_layout.sh"
