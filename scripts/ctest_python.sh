# ctest_python.sh - the Python counterparts' tests, sourced by
# scripts/gen_ctest.sh with $src, $bin and test_line set (label python).
# python_NAME runs tests/python/NAME.py, which checks by running it one
# Python claim of docs/python-to-c.md and prints one summary line;
# python_rows checks that the page cites every such test and no missing
# one, and python_rows_selftest that this check can fail;
# python_claims_selftest shows that each test fails when its claim is
# turned around (tests/python/flips.txt). They test Python, not the pool,
# so the sanitizer builds leave them out (nosan).
for p in "$src"/tests/python/*.py; do
    [ -e "$p" ] || continue
    name=$(basename "$p" .py)
    test_line "python_$name" 90 "python;nosan" python3 "$p"
done
test_line python_rows 30 "python;docs;nosan" "$src/scripts/check_python_rows.sh"
test_line python_claims_selftest 300 "python;nosan" "$src/scripts/test_python_claims.sh"
test_line python_rows_selftest 30 "python;docs;nosan" "$src/scripts/check_python_rows.sh" --selftest
