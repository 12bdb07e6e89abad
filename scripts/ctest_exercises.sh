# ctest_exercises.sh - the exercises' tests, sourced by scripts/gen_ctest.sh
# with $src, $bin and test_line set. A check proves something only if it
# can fail, and only if a right answer in any style can pass it, so:
#   exercise_NN           (label exercises) the student's exercise: while it
#       is the untouched starter it must fail its check; once edited, it is
#       graded, and fails alone, even if it does not compile. Under
#       GRADE_STRICT=1 (make grade-selfcheck) an edited starter is a failure.
#       It builds the exercise with the plain make, so the sanitizer builds
#       of the whole suite (make sanitize, make tsan) leave it out (nosan).
#   exercise_NN_solution  (label selfcheck) the reference solution passes.
#   exercise_NN_alternative  (label selfcheck) a second right answer,
#       written another way, passes.
#   wrong_NN_what         (label selfcheck) each known-wrong answer in
#       exercises/wrong/ fails, for the reason its header names
#       ("Caught by: KEY", the key of the hint it must get).
# Plus exercise_layout: every exercise has its solution, check and doc.
# The selfcheck label is left out of make check to keep it quick (about a
# minute and a half of CPU); make grade-selfcheck and CI run it. (test_line sets $name, so the variables
# here are ex_*.)
ex_expected() { # NN: the exercise's expected file, named after its starter
    for ex_f in "$src"/exercises/"$1"_*.c; do
        echo "$src/expected_output/exercises/$(basename "$ex_f" .c).txt"
    done
}

for ex_c in "$src"/exercises/[0-9][0-9]_*.c; do
    [ -e "$ex_c" ] || continue
    ex_base=$(basename "$ex_c" .c)
    ex_nn=${ex_base%%_*}
    ex_exp=$src/expected_output/exercises/$ex_base.txt
    test_line "exercise_$ex_nn" 180 "exercises;nosan" "$src/scripts/check_exercise.sh" \
        --make "$bin" --expect starter --starter "$ex_c" --verbose \
        "$bin/exercises/$ex_base" "$ex_exp"
    test_line "exercise_${ex_nn}_solution" 120 selfcheck "$src/scripts/check_exercise.sh" \
        --verbose "$bin/exercises/solutions/$ex_base" "$ex_exp"
    if [ -e "$src/exercises/alternative/$ex_base.c" ]; then
        test_line "exercise_${ex_nn}_alternative" 120 "selfcheck;nosan" \
            "$src/scripts/check_exercise.sh" --verbose \
            "$bin/exercises/alternative/$ex_base" "$ex_exp"
    fi
done

for ex_c in "$src"/exercises/wrong/[0-9][0-9]_*.c; do
    [ -e "$ex_c" ] || continue
    ex_base=$(basename "$ex_c" .c)
    ex_key=$(sed -n '1s/.*Caught by: *\([a-zA-Z|-]*\).*/\1/p' "$ex_c")
    test_line "wrong_$ex_base" 120 "selfcheck;nosan" "$src/scripts/check_exercise.sh" \
        --expect fail --expect-key "${ex_key:-?}" --verbose \
        "$bin/exercises/wrong/$ex_base" "$(ex_expected "${ex_base%%_*}")"
done
test_line exercise_layout 60 "exercises;docs" "$src/scripts/check_exercise_layout.sh"
