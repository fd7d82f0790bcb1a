#!/usr/bin/env python3
"""Writes a .npy file of zeros without NumPy (which CI may lack).

    python3 make_npy.py PATH DESCR SHAPE      e.g. make_npy.py q.npy '<f4' 5,8,128  ('' for a scalar)
"""
import struct
import sys

ITEM_BYTES = {"<f4": 4, "<f2": 2, "<u2": 2, "<i2": 2, "<i4": 4, "<u4": 4, "<i8": 8, "|u1": 1, "|i1": 1}


def main():
    path, descr, shape_text = sys.argv[1], sys.argv[2], sys.argv[3]
    shape = [int(d) for d in shape_text.split(",") if d]
    shape_repr = "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_repr)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    count = 1
    for d in shape:
        count *= d
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1"))
        f.write(b"\0" * (count * ITEM_BYTES[descr]))


if __name__ == "__main__":
    main()
