#!/usr/bin/env python3
"""Start to first response of `facets serve` binaries, interleaved.

Usage: python3 benches/compare/start.py BINARY [BINARY ...]   (N=15 starts each)

Each start serves benches/fixtures/platform (3,000 instance slots, data dir
on /dev/shm) and polls GET / every 2 ms, as benches/compare/run does; starts
of the binaries alternate, so that the machine's drift hits them alike.
Prints the median and the minimum per binary.
"""
import http.client, os, shutil, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.join(HERE, "..", "fixtures", "platform")


def start(binary, port):
    data = f"/dev/shm/facets-start-{port}"
    shutil.rmtree(data, ignore_errors=True)
    os.makedirs(data)
    t0 = time.perf_counter()
    p = subprocess.Popen([binary, "serve", PROJECT, "--port", str(port), "--data-dir", data, "--durability", "normal",
                          "--max-instances", "3000", "--idle-timeout", "600"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if p.poll() is not None:
                raise RuntimeError(f"{binary} exited with {p.returncode}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", "/")
                r = c.getresponse()
                r.read()
                c.close()
                if r.status == 200:
                    return (time.perf_counter() - t0) * 1000
            except OSError:
                pass
            time.sleep(0.002)
    finally:
        p.terminate()
        p.wait()
        shutil.rmtree(data, ignore_errors=True)


def main():
    binaries = sys.argv[1:]
    if not binaries:
        sys.exit(__doc__)
    n = int(os.environ.get("N", "15"))
    times = {b: [] for b in binaries}
    for _ in range(n):
        for k, b in enumerate(binaries):
            times[b].append(start(b, 19000 + k))
    for b, v in times.items():
        print(f"{b}: median {statistics.median(v):.1f} ms, min {min(v):.1f} ms ({n} starts)")


if __name__ == "__main__":
    main()
