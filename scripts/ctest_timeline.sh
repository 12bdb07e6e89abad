# ctest_timeline.sh - the timelines' tests, sourced by scripts/gen_ctest.sh
# with $src, $bin and test_line set: the renderer on hand-made traces (label
# trace), and the committed lesson pictures, read by xmllint and drawn by a
# real browser (label docs).
test_line timeline_selftest 300 trace "$src/scripts/test_timeline.sh"
test_line svg_pictures 120 docs "$src/scripts/check_svg.sh"
test_line svg_browser 180 docs "$src/scripts/test_svg_browser.sh"
