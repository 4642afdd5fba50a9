#!/usr/bin/env python3
"""docs/ansi2svg.py — render `tmux capture-pane -e -p` output (text with ANSI
SGR colors) to SVG, one monospace cell per character; ImageMagick's
`convert docs/tui.svg docs/tui.png` then makes the README screenshot.
usage: tmux capture-pane -e -p -t S | python3 docs/ansi2svg.py > docs/tui.svg"""
import html
import re
import sys

PALETTE = ["#1d1f21", "#cc6666", "#8abe73", "#e6c547", "#6f9fd8", "#b294bb", "#70c0b1", "#c5c8c6",
           "#666666", "#ff6666", "#a8dd88", "#ffdd66", "#88bbff", "#d7b6df", "#8ae0d0", "#ffffff"]
FG, BG = "#d8dadc", "#16181a"
CW, CH = 8.4, 17  # cell size in px for a 14px DejaVu Sans Mono


def xterm256(n):
    if n < 16:
        return PALETTE[n]
    if n >= 232:
        v = 8 + (n - 232) * 10
        return "#%02x%02x%02x" % (v, v, v)
    n -= 16
    steps = [0, 95, 135, 175, 215, 255]
    return "#%02x%02x%02x" % (steps[n // 36], steps[n // 6 % 6], steps[n % 6])


def apply_sgr(params, st):
    codes = [int(p) if p else 0 for p in params.split(";")] if params else [0]
    i = 0
    while i < len(codes):
        c = codes[i]
        if c == 0:
            st.update(fg=None, bg=None, bold=False, dim=False, rev=False)
        elif c == 1:
            st["bold"] = True
        elif c == 2:
            st["dim"] = True
        elif c == 7:
            st["rev"] = True
        elif c in (22,):
            st["bold"] = st["dim"] = False
        elif c == 27:
            st["rev"] = False
        elif 30 <= c <= 37:
            st["fg"] = PALETTE[c - 30]
        elif 90 <= c <= 97:
            st["fg"] = PALETTE[c - 90 + 8]
        elif c == 39:
            st["fg"] = None
        elif 40 <= c <= 47:
            st["bg"] = PALETTE[c - 40]
        elif c == 49:
            st["bg"] = None
        elif c in (38, 48) and i + 2 < len(codes) and codes[i + 1] == 5:
            st["fg" if c == 38 else "bg"] = xterm256(codes[i + 2])
            i += 2
        i += 1


def main():
    rows = sys.stdin.read().rstrip("\n").split("\n")
    st = dict(fg=None, bg=None, bold=False, dim=False, rev=False)
    out, width = [], 0
    for y, line in enumerate(rows):
        x = 0
        for tok in re.split(r"(\x1b\[[0-9;]*m)", line):
            m = re.fullmatch(r"\x1b\[([0-9;]*)m", tok)
            if m:
                apply_sgr(m.group(1), st)
                continue
            for ch in tok:
                fg, bg = st["fg"] or FG, st["bg"]
                if st["rev"]:
                    fg, bg = (st["bg"] or BG), (st["fg"] or FG)
                if bg:
                    out.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>' % (x * CW, y * CH, CW + 0.3, CH, bg))
                if ch != " ":
                    style = " font-weight=\"bold\""  # ImageMagick garbles the regular weight
                    op = ""
                    if st["dim"]:  # darker instead of fill-opacity (ImageMagick's renderer garbles it)
                        fg = "#%02x%02x%02x" % tuple(int(fg[i:i + 2], 16) * 6 // 10 for i in (1, 3, 5))
                    out.append('<text x="%.1f" y="%d" fill="%s"%s%s>%s</text>' % (x * CW, y * CH + 13, fg, style, op, html.escape(ch)))
                x += 1
        width = max(width, x)
    w, h = width * CW, len(rows) * CH
    print('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="DejaVu Sans Mono" font-size="14">' % (w, h))
    print('<rect width="100%%" height="100%%" fill="%s"/>' % BG)
    print("\n".join(out))
    print("</svg>")


main()
