#!/usr/bin/env bash
# test_svg_browser.sh - a real browser draws a lesson's picture: headless
# chromium loads docs/img/04_*.svg (or the SVG given) and takes a screenshot,
# and the PNG must have the window's size and not be blank: more than one
# colour, and at least MIN_INK per mille of its pixels unlike the background.
# A blank SVG of the same size must fail the same check (shown first).
# Usage: scripts/test_svg_browser.sh [SVG] [--keep PNG]
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
svg=
keep=
while [ $# -gt 0 ]; do
    case $1 in
    --keep) keep=$2; shift 2 ;;
    *) svg=$1; shift ;;
    esac
done
[ -n "$svg" ] || svg=$(ls "$src"/docs/img/04_*.svg 2>/dev/null | head -n 1)
[ -f "$svg" ] || { echo "FAILED: no picture to load (make timelines draws docs/img/04_*.svg)"; exit 1; }
chromium=${CHROMIUM:-chromium}
command -v "$chromium" >/dev/null || { echo "FAILED: chromium not found (make tools installs it)"; exit 1; }
MIN_INK=${MIN_INK:-20}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The window: the SVG's own width and height, so the whole picture shows.
read -r width height < <(python3 - "$svg" <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
print(int(float(root.get("width"))), int(float(root.get("height"))))
EOF
)
[ -n "${height:-}" ] || { echo "FAILED: $svg has no width and height"; exit 1; }

shoot() { # svg png
    local abs
    abs=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
    rm -rf "$tmp/profile"
    timeout 60 "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --no-first-run --user-data-dir="$tmp/profile" --window-size="$width,$height" \
        --screenshot="$2" "file://$abs" >"$tmp/chromium.log" 2>&1
    local status=$?
    [ -s "$2" ] || { echo "FAILED: chromium wrote no screenshot (exit status $status):"; tail -n 5 "$tmp/chromium.log" | sed 's/^/    | /'; return 1; }
}

# check PNG: decodes it (zlib and the PNG filters, by hand) and checks its
# size and its ink.
check() {
    python3 - "$1" "$width" "$height" "$MIN_INK" <<'EOF'
import struct, sys, zlib
path, want_w, want_h, min_ink = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
data = open(path, "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n":
    sys.exit(f"{path}: not a PNG")
pos, idat, w = 8, b"", None
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
if (w, h) != (want_w, want_h):
    sys.exit(f"{path}: {w}x{h} pixels, not {want_w}x{want_h}")
if depth != 8 or ctype not in (2, 6):
    sys.exit(f"{path}: colour type {ctype}, depth {depth}: not 8-bit RGB(A)")
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
prev, colours, rows = bytearray(stride), {}, []
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp):
        px = bytes(line[x:x + 3])
        colours[px] = colours.get(px, 0) + 1
    prev = line
background, most = max(colours.items(), key=lambda kv: kv[1])
ink = (w * h - most) * 1000 // (w * h)
print(f"{path.rsplit('/', 1)[-1]}: {w}x{h}, {len(colours)} colours, {ink} per mille not background")
if len(colours) < 2:
    sys.exit(f"{path}: blank, one colour")
if ink < min_ink:
    sys.exit(f"{path}: only {ink} per mille of the pixels are drawn, fewer than {min_ink}")
EOF
}

# First a blank picture of the same size: the check must reject it.
printf '<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s"><rect width="100%%" height="100%%" fill="#fff"/></svg>\n' \
    "$width" "$height" >"$tmp/blank.svg"
shoot "$tmp/blank.svg" "$tmp/blank.png" || exit 1
if check "$tmp/blank.png" >"$tmp/blank.out" 2>&1; then
    echo "FAILED: the check passed a blank picture:"; sed 's/^/    | /' "$tmp/blank.out"; exit 1
fi
shoot "$svg" "$tmp/shot.png" || exit 1
[ -n "$keep" ] && cp "$tmp/shot.png" "$keep"
check "$tmp/shot.png" || { echo "FAILED: chromium's picture of $(basename "$svg")"; exit 1; }
echo "test_svg_browser: chromium drew $(basename "$svg") at ${width}x${height}"
