#!/usr/bin/env python3
"""Runs a command; prints its wall time (s) and peak anonymous memory (KiB).

Peak RSS would count the pages of a memory-mapped input dump, which the
kernel can drop at will; anonymous memory (RssAnon in /proc/PID/status,
sampled every 2 ms) is what a filter really allocates.

    bench/run_measured.py CMD ARGS...   ->   "<wall_s> <peak_anon_kib>"
"""
import subprocess
import sys
import time


def rss_anon(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main():
    start = time.monotonic()
    p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while p.poll() is None:
        peak = max(peak, rss_anon(p.pid))
        time.sleep(0.002)
    wall = time.monotonic() - start
    if p.returncode != 0:
        sys.exit(f"{sys.argv[1]} failed with {p.returncode}")
    print(f"{wall:.3f} {peak}")


main()
