#!/usr/bin/env python3
"""Where a kernel's warps wait, from an Nsight Compute report's SASS source page.

Export the page from a report of one kernel (-c 1) taken with the SourceCounters section (and
WarpStateStats for the stall reasons), then read it here; no GPU is needed for this step:

  ncu --section SourceCounters --section WarpStateStats -k regex:NAME -c 1 -o rep ./ds-bench ...
  ncu -i rep.ncu-rep --page source --csv --print-source sass > rep.csv
  tools/ncu-sass.py rep.csv [--top N] [--min-share PERCENT]

It prints the warp samples by stall reason, the kernel cut into regions at its block barriers
(BAR.SYNC) with each region's share of the samples and its executed instructions, and the
SASS lines that hold the most samples.
"""
import argparse
import csv
import os
import sys

SAMPLES = "Warp Stall Sampling (All Samples)"
EXECUTED = "Instructions Executed"
THREADS = "Avg. Threads Executed"
SOURCE = "Source"


def number(text):
    """A counter cell as a float ('1,024' -> 1024.0; empty or '-' -> 0)."""
    text = text.replace(",", "").strip()
    try:
        return float(text)
    except ValueError:
        return 0.0


def read_page(path):
    """(kernel name, header, rows) of an exported SASS source page."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        raise SystemExit(f"ncu-sass.py: cannot read {path}: {e.strerror}")
    except (UnicodeDecodeError, csv.Error):
        raise SystemExit(f"ncu-sass.py: {path} is not an ncu SASS source page (not CSV text; "
                         "export the report's page with --page source --csv --print-source sass)")
    # The page starts with a "Kernel Name" row, then the column header.
    if len(rows) < 2 or not rows[0] or rows[0][0] != "Kernel Name":
        raise SystemExit(f"ncu-sass.py: {path} is not an ncu SASS source page (no 'Kernel Name' "
                         "row first; export it with --page source --csv --print-source sass)")
    kernel = rows[0][1] if len(rows[0]) > 1 else "?"
    if any(r and r[0] == "Kernel Name" for r in rows[1:]):
        raise SystemExit(f"ncu-sass.py: {path} holds more than one kernel (take the report with "
                         "-c 1, or export one kernel of it)")
    header = rows[1]
    for column in (SOURCE, SAMPLES, EXECUTED):
        if column not in header:
            raise SystemExit(f"ncu-sass.py: {path} has no column '{column}' (take the report with "
                             "the SourceCounters section)")
    width = len(header)
    return kernel, header, [r for r in rows[2:] if len(r) == width]


def main(argv):
    parser = argparse.ArgumentParser(
        prog="ncu-sass.py", description="Where a kernel's warps wait, from an ncu SASS source page "
        "(ncu -i REPORT --page source --csv --print-source sass).")
    parser.add_argument("page", help="the exported CSV")
    parser.add_argument("--top", type=int, default=20, help="SASS lines to list (default 20)")
    parser.add_argument("--min-share", type=float, default=1.0,
                        help="hide stall reasons and regions under this share of the samples, in "
                        "percent (default 1)")
    args = parser.parse_args(argv)
    if args.top < 0:
        parser.error("--top must be at least 0")
    if not 0 <= args.min_share <= 100:
        parser.error("--min-share must be in [0, 100]")

    kernel, header, rows = read_page(args.page)
    col = {name: i for i, name in enumerate(header)}
    samples = [number(r[col[SAMPLES]]) for r in rows]
    executed = [number(r[col[EXECUTED]]) for r in rows]
    threads = [number(r[col[THREADS]]) if THREADS in col else 0.0 for r in rows]
    # Each stall reason's samples per line, parsed once: short name -> list over the lines.
    stalls = {h[len("stall_"):]: [number(r[col[h]]) for r in rows]
              for h in header if h.startswith("stall_") and "(Not Issued)" not in h}
    total = sum(samples)
    print(f"kernel {kernel}: {len(rows)} SASS lines, {total:.0f} warp samples, "
          f"{sum(executed):.0f} warp instructions executed")
    if total == 0:
        print("no warp samples: take the report with the SourceCounters section")
        return 0

    def share(x):
        return 100.0 * x / total

    by_reason = {name: sum(per_line) for name, per_line in stalls.items()}
    shown = [(name, v) for name, v in sorted(by_reason.items(), key=lambda x: -x[1])
             if share(v) >= args.min_share]
    if shown:
        print("stalls: " + ", ".join(f"{name} {share(v):.1f}%" for name, v in shown))

    print("regions between block barriers (SASS lines, share of samples, instructions executed, "
          "top stall):")
    start = 0
    for i, r in enumerate(rows):
        if "BAR.SYNC" not in r[col[SOURCE]] and i != len(rows) - 1:
            continue
        s = sum(samples[start:i + 1])
        if share(s) >= args.min_share:
            top = max(stalls, key=lambda name: sum(stalls[name][start:i + 1]), default=None)
            stall = f", {top}" if top else ""
            print(f"  [{start}-{i}] {share(s):5.1f}%, {sum(executed[start:i + 1]):.0f}{stall}")
        start = i + 1

    if args.top:
        print(f"top {args.top} lines (line, share of samples, executed, average threads, SASS, "
              "top stalls):")
        order = sorted(range(len(rows)), key=lambda j: -samples[j])[:args.top]
        for j in sorted(order):
            if samples[j] == 0:
                continue
            top2 = sorted(stalls, key=lambda name: -stalls[name][j])[:2]
            why = " ".join(f"{name}:{stalls[name][j]:.0f}" for name in top2 if stalls[name][j] > 0)
            print(f"  {j:5d} {share(samples[j]):5.1f}% {executed[j]:10.0f} {threads[j]:4.0f}  "
                  f"{rows[j][col[SOURCE]].strip()[:64]:64s} {why}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BrokenPipeError:
        # The reader stopped early (piped to head): no traceback, the shell's SIGPIPE status.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
