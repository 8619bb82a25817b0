#!/usr/bin/python3
"""Draws the tray's three health icons as .ico files (16, 20, 24, 32 and 48 pixels,
32-bit with alpha): a green disc with a tick (all good), an amber one with "!" (needs
attention) and a red one with a cross (error). Run by the build; nothing is committed.

  mkicons.py OUTDIR   ->  OUTDIR/xb-ok.ico, xb-attention.ico, xb-error.ico
"""
import math
import os
import struct
import sys

SIZES = (16, 20, 24, 32, 48)
SUPER = 4  # samples per pixel side, for smooth edges

ICONS = {
    "xb-ok": ((0x2E, 0x9D, 0x4F), [((0.27, 0.53), (0.44, 0.69)), ((0.44, 0.69), (0.74, 0.35))], None),
    "xb-attention": ((0xE8, 0x9A, 0x10), [((0.5, 0.22), (0.5, 0.56))], ((0.5, 0.75), 0.08)),
    "xb-error": ((0xD3, 0x2F, 0x2F), [((0.32, 0.32), (0.68, 0.68)), ((0.68, 0.32), (0.32, 0.68))], None),
}
STROKE = 0.12


def seg_dist(p, a, b):
    ax, ay = a
    bx, by = b
    px, py = p
    dx, dy = bx - ax, by - ay
    t = ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)
    t = max(0.0, min(1.0, t))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def pixel(u, v, color, strokes, dot):
    """Colour (b, g, r, a) at (u, v) in 0..1 coordinates, one sample."""
    r = math.hypot(u - 0.5, v - 0.5)
    if r > 0.47:
        return None
    glyph = any(seg_dist((u, v), a, b) <= STROKE / 2 for a, b in strokes)
    if dot and math.hypot(u - dot[0][0], v - dot[0][1]) <= dot[1]:
        glyph = True
    if glyph:
        return (255, 255, 255)
    if r > 0.42:  # a darker rim keeps the disc visible on a light task bar
        return tuple(int(c * 0.7) for c in color)
    return color


def image(size, color, strokes, dot):
    rows = []
    for y in range(size):
        row = []
        for x in range(size):
            acc = [0, 0, 0]
            hits = 0
            for sy in range(SUPER):
                for sx in range(SUPER):
                    u = (x + (sx + 0.5) / SUPER) / size
                    v = (y + (sy + 0.5) / SUPER) / size
                    c = pixel(u, v, color, strokes, dot)
                    if c:
                        hits += 1
                        for i in range(3):
                            acc[i] += c[i]
            if hits:
                rgb = [a // hits for a in acc]
                alpha = 255 * hits // (SUPER * SUPER)
            else:
                rgb, alpha = [0, 0, 0], 0
            row.append(bytes((rgb[2], rgb[1], rgb[0], alpha)))
        rows.append(b"".join(row))
    xor = b"".join(reversed(rows))  # bottom-up
    mask_stride = ((size + 31) // 32) * 4
    and_mask = bytes(mask_stride * size)  # the alpha channel decides
    header = struct.pack("<IiiHHIIiiII", 40, size, size * 2, 1, 32, 0, len(xor) + len(and_mask), 0, 0, 0, 0)
    return header + xor + and_mask


def ico(color, strokes, dot):
    images = [image(s, color, strokes, dot) for s in SIZES]
    out = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    for s, data in zip(SIZES, images):
        out += struct.pack("<BBBBHHII", s % 256, s % 256, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
    return out + b"".join(images)


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    for name, (color, strokes, dot) in ICONS.items():
        path = os.path.join(outdir, name + ".ico")
        data = ico(color, strokes, dot)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)


if __name__ == "__main__":
    main()
