#!/usr/bin/env python3
"""Start to first response of `facets serve` binaries, interleaved.

Usage: python3 benches/compare/start.py BINARY [BINARY ...]   (N=15 starts each)

Each start is bench.py's (the platform fixture, 3,000 instance slots, a fresh
data dir under WORK=/dev/shm/facets-compare, GET / polled every 2 ms); starts
of the binaries alternate, so that the machine's drift hits them alike.
Prints the median and the minimum per binary.
"""
import argparse
import os
import statistics
import sys

from bench import Server


def main():
    binaries = sys.argv[1:]
    if not binaries:
        sys.exit(__doc__)
    n = int(os.environ.get("N", "15"))
    work = os.environ.get("WORK", "/dev/shm/facets-compare")
    times = {b: [] for b in binaries}
    for _ in range(n):
        for b in binaries:
            s = Server("facets", argparse.Namespace(facets=b, work=work))
            times[b].append(s.ready_ms)
            s.stop()
    for b, v in times.items():
        print(f"{b}: median {statistics.median(v):.1f} ms, min {min(v):.1f} ms ({n} starts)")


if __name__ == "__main__":
    main()
