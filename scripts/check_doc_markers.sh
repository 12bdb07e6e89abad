#!/usr/bin/env bash
# check_doc_markers.sh - keeps docs/NN_*.md in step with lessons/NN_*.c.
# A doc quotes its lesson by marker, never by line number, so this fails when:
#   - a doc names a marker (`[submit]`) that its lesson lacks;
#   - a ```c block, which must open with a marker line, does not read as the
#     lesson does after that marker (a line "..." stands for lines left out);
#   - a doc names, in backticks, a C function (`task()`) or a pool_/lesson_
#     name that is neither in the lesson nor declared in common/*.h.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src" || exit 2

problems=0
problem() {
    problems=$((problems + 1))
    echo "$1"
}

docs=(docs/[0-9][0-9]_*.md)
[ -e "${docs[0]}" ] || { echo "no docs/NN_*.md found"; exit 1; }

for doc in "${docs[@]}"; do
    lesson=lessons/$(basename "$doc" .md).c
    if [ ! -f "$lesson" ]; then
        problem "$doc: there is no lesson $lesson for it"
        continue
    fi

    # Markers named in the prose.
    while IFS= read -r marker; do
        grep -qF "/* $marker" "$lesson" ||
            problem "$doc: names the marker $marker, which $lesson does not have"
    done < <(grep -o '`\[[a-z-]*\]`' "$doc" | tr -d '`' | sort -u)

    # Names in backticks: bare function calls and the pool_/lesson_ family.
    while IFS= read -r name; do
        grep -qw -- "$name" "$lesson" common/*.h ||
            problem "$doc: names \`$name\`, which is in neither $lesson nor common/*.h"
    done < <(grep -oE '`[A-Za-z_][A-Za-z0-9_]*(\(\))?`' "$doc" | tr -d '`' |
        grep -E '\(\)$|^(pool|lesson|POOL|LESSON)_' | sed 's/()$//' | sort -u)

    # Quoted code: each ```c block against the lesson, from its marker on.
    # awk prints one problem per line; the block's lines must come in order,
    # each the next non-blank lesson line unless a "..." line allows a gap.
    while IFS= read -r line; do
        problem "$doc: $line"
    done < <(awk -v lesson="$lesson" '
        function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
        BEGIN {
            while ((getline l < lesson) > 0)
                if (trim(l) != "") code[++n] = trim(l)
        }
        /^```c[ \t]*$/ { inblock = 1; blockline = NR; pos = 0; gap = 0; bad = 0; next }
        inblock && /^```/ { inblock = 0; next }
        !inblock || bad { next }
        {
            q = trim($0)
            if (q == "") next
            if (q == "...") { gap = 1; next }
            if (pos == 0) {
                if (q !~ /^\/\* \[[a-z-]+\]/) {
                    print "the c block at line " blockline " does not open with a marker line such as /* [submit] */"
                    bad = 1; next
                }
                for (i = 1; i <= n; i++) if (index(code[i], q) == 1 || code[i] == q) break
                if (i > n) { print "line " NR " quotes a marker that is not in " lesson ": " q; bad = 1; next }
                pos = i; gap = 0; next
            }
            if (gap) {
                for (i = pos + 1; i <= n; i++) if (code[i] == q) break
            } else {
                i = pos + 1
            }
            if (i > n || code[i] != q) {
                print "line " NR " does not match " lesson " after the previous quoted line: " q
                bad = 1; next
            }
            pos = i; gap = 0
        }' "$doc")
done

# The index lists every lesson doc, in order.
if [ -f docs/index.md ]; then
    listed=$(grep -oE '\(([0-9][0-9]_[a-z_]+)\.md\)' docs/index.md | tr -d '()' | tr '\n' ' ')
    wanted=$(for d in "${docs[@]}"; do basename "$d"; done | tr '\n' ' ')
    [ "$listed" = "$wanted" ] ||
        problem "docs/index.md lists [$listed] but docs/ has [$wanted], in this order"
else
    problem "docs/index.md is missing"
fi

if [ "$problems" -ne 0 ]; then
    echo "check_doc_markers: $problems problem(s); the docs quote code the lessons no longer have"
    exit 1
fi
echo "check_doc_markers: ${#docs[@]} docs agree with their lessons"
