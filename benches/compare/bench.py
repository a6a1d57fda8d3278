#!/usr/bin/env python3
"""facets vs workerd on the same supervisor + facet project (see ../fixtures/platform/).

Invoked by ./run, which installs the tools and passes their paths:
    bench.py --facets BIN --workerd BIN [--wrk BIN] [--work DIR]
Standard library only. Prints a markdown report on stdout; progress on stderr.
"""
import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.join(HERE, "..", "fixtures", "platform")
HOST = "127.0.0.1"
PORTS = {"facets": 18787, "workerd": 18788}

with open(os.path.join(PROJECT, "app.js")) as f:
    APP = f.read()

CAPNP = """using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .mainWorker),
    (name = "DO_DIR", disk = (path = "{data}", writable = true)),
  ],
  sockets = [ (name = "http", address = "{host}:{port}", http = (), service = "main") ],
);
const mainWorker :Workerd.Worker = (
  modules = [ (name = "index.js", esModule = embed "index.js") ],
  compatibilityDate = "2026-04-01",
  compatibilityFlags = ["experimental"],
  durableObjectNamespaces = [
    (className = "Supervisor", uniqueKey = "facets-compare-supervisor", enableSql = true),
  ],
  durableObjectStorage = (localDisk = "DO_DIR"),
  bindings = [
    (name = "SUPERVISOR", durableObjectNamespace = "Supervisor"),
    (name = "LOADER", workerLoader = ()),
  ],
);
"""


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class Server:
    """One server process with a fresh data dir under WORK/<kind>-<n>."""

    counter = 0

    def __init__(self, kind, args):
        self.kind, self.port = kind, PORTS[kind]
        Server.counter += 1
        self.dir = os.path.join(args.work, f"{kind}-{Server.counter}")
        shutil.rmtree(self.dir, ignore_errors=True)
        data = os.path.join(self.dir, "data")
        os.makedirs(data)
        if kind == "facets":
            self.cmd = [args.facets, "serve", PROJECT, "--ip", HOST, "--port", str(self.port),
                        "--data-dir", data, "--durability", "normal",
                        # keep 1,000 supervisors + 1,000 facets live for the RSS rows
                        "--max-instances", "3000", "--idle-timeout", "600"]
            cwd = self.dir
        else:
            shutil.copy(os.path.join(PROJECT, "index.js"), self.dir)
            with open(os.path.join(self.dir, "config.capnp"), "w") as f:
                f.write(CAPNP.format(data=data, host=HOST, port=self.port))
            self.cmd = [args.workerd, "serve", "--experimental", "config.capnp"]
            cwd = self.dir
        self.logf = open(os.path.join(self.dir, "server.log"), "w")
        wait_port_free(self.port)
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(self.cmd, cwd=cwd, stdout=self.logf, stderr=subprocess.STDOUT)
        self.ready_ms = self._wait_first_response()
        self.conn = http.client.HTTPConnection(HOST, self.port, timeout=60)

    def _wait_first_response(self):
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited: see {self.logf.name}")
            try:
                c = http.client.HTTPConnection(HOST, self.port, timeout=5)
                c.request("GET", "/")
                r = c.getresponse()
                r.read()
                c.close()
                if r.status == 200:
                    return (time.perf_counter() - self.t0) * 1000
            except OSError:
                pass
            time.sleep(0.002)
        raise RuntimeError(f"{self.kind} did not answer within 60 s")

    def post(self, app, code, source):
        """One keep-alive request; returns (ms, body)."""
        t = time.perf_counter()
        try:
            self.conn.request("POST", f"/?app={app}&code={code}", body=source.encode(),
                              headers={"Content-Type": "text/plain"})
            r = self.conn.getresponse()
            body = r.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
            raise
        ms = (time.perf_counter() - t) * 1000
        if r.status != 200:
            raise RuntimeError(f"{self.kind}: HTTP {r.status}: {body[:300]!r}")
        return ms, body.decode()

    def _proc_kib(self, file, field):
        with open(f"/proc/{self.proc.pid}/{file}") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
        return None

    def rss_kib(self):
        return self._proc_kib("status", "VmRSS:")

    # Proportional set size: a page shared by several mappings (facets maps
    # its engine image copy-on-write into every instance slot; RSS counts
    # such a page once per mapping) counts once, split among its users.
    def pss_kib(self):
        return self._proc_kib("smaps_rollup", "Pss:")

    def stop(self):
        self.conn.close()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.logf.close()
        shutil.rmtree(os.path.join(self.dir, "data"), ignore_errors=True)


def wait_port_free(port):
    for _ in range(500):
        s = socket.socket()
        try:
            s.connect((HOST, port))
        except OSError:
            return
        finally:
            s.close()
        time.sleep(0.02)
    raise RuntimeError(f"port {port} still busy")


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, round((len(v) - 1) * q))]


def app_source(tag):
    return f"{APP}\n// app {tag}\n"


def measure_starts(args, n=11):
    """Median start → first response per kind, starts of the two interleaved
    (so that the machine's drift between minutes hits both alike)."""
    times = {"facets": [], "workerd": []}
    for _ in range(n):
        for kind in times:
            s = Server(kind, args)
            times[kind].append(s.ready_ms)
            s.stop()
    return {kind: statistics.median(t) for kind, t in times.items()}


APART = 100


def measure_latencies(kind, args, n=200):
    s = Server(kind, args)
    res = {"cmd": " ".join(s.cmd)}
    try:
        s.post("warmup", "warmup-code", app_source("warmup"))
        # The floor under every latency row: the same client's request
        # answered by the entry worker itself (no ?app: "ok", no object).
        floor = []
        for _ in range(n):
            ms, body = s.post("", "", "")
            assert body == "ok", body
            floor.append(ms)
        res["floor"] = (pct(floor, 0.5), pct(floor, 0.99))
        new_app = []
        for i in range(n):
            ms, body = s.post(f"new-{i}", f"code-{i}", app_source(i))
            assert body == "1", body
            new_app.append(ms)
        new_obj = []
        for i in range(n):
            ms, body = s.post(f"loaded-{i}", "code-0", app_source(0))
            assert body == "1", body
            new_obj.append(ms)
        # New objects one at a time, 30 ms apart: as they come when they
        # arrive apart rather than in a burst (caches cool meanwhile; facets
        # warms instance slots in such pauses).
        apart = []
        for i in range(APART):
            time.sleep(0.03)
            ms, body = s.post(f"apart-{i}", "code-0", app_source(0))
            assert body == "1", body
            apart.append(ms)
        res["new_app"] = (pct(new_app, 0.5), pct(new_app, 0.99))
        res["new_obj"] = (pct(new_obj, 0.5), pct(new_obj, 0.99))
        res["new_obj_apart"] = (pct(apart, 0.5), pct(apart, 0.99))
        res["warm"] = measure_warm(s, args)
    finally:
        s.stop()
    return res


def measure_warm(s, args):
    """Warm throughput and latency on one object: (req/s, p50 ms, p99 ms, how)."""
    s.post("warm", "code-0", app_source(0))
    if args.wrk:
        lua = os.path.join(s.dir, "post.lua")
        with open(lua, "w") as f:
            f.write("wrk.method = \"POST\"\nwrk.body = [==[" + app_source(0) + "]==]\n"
                    "wrk.headers[\"Content-Type\"] = \"text/plain\"\n")
        out = subprocess.run([args.wrk, "-c4", "-t2", "-d5s", "--latency", "-s", lua,
                              f"http://{HOST}:{s.port}/?app=warm&code=code-0"],
                             capture_output=True, text=True, check=True).stdout
        log(out)
        if re.search(r"Non-2xx|Socket errors", out):
            log(f"WARNING: {s.kind}: wrk reported errors")
        rps = float(re.search(r"Requests/sec:\s*([\d.]+)", out).group(1))

        def lat(p):
            m = re.search(rf"^\s*{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
            return float(m.group(1)) * {"us": 1e-3, "ms": 1, "s": 1e3}[m.group(2)]
        return rps, lat(50), lat(99), "wrk -c4 -t2 -d5s"
    lats, t0 = [], time.perf_counter()
    while time.perf_counter() - t0 < 5:
        lats.append(s.post("warm", "code-0", app_source(0))[0])
    return len(lats) / (time.perf_counter() - t0), pct(lats, 0.5), pct(lats, 0.99), \
        "python keep-alive loop, 1 connection"


def measure_memory(kind, args, marks=(1, 100, 1000)):
    s = Server(kind, args)
    rss = {}
    try:
        created = 0
        for mark in marks:
            while created < mark:
                _, body = s.post(f"mem-{created}", f"mem-code-{created}", app_source(f"mem-{created}"))
                assert body == "1", body
                created += 1
            time.sleep(0.5)
            rss[mark] = s.rss_kib() / 1024
            rss[f"pss{mark}"] = s.pss_kib() / 1024
            log(f"{kind}: {mark} objects, RSS {rss[mark]:.1f} MiB, PSS {rss[f'pss{mark}']:.1f} MiB")
        # A hint whether object #0 is still live: its next request's latency
        # (≈ warm latency if live, ≈ new-object latency if it was evicted).
        rss["check"], _ = s.post("mem-0", "mem-code-0", app_source("mem-0"))
    finally:
        s.stop()
    return rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--facets", required=True)
    ap.add_argument("--workerd", required=True)
    ap.add_argument("--wrk")
    ap.add_argument("--work", default="/dev/shm/facets-compare")
    ap.add_argument("--n", type=int, default=200)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)

    log("== start time (interleaved)")
    starts = measure_starts(args)
    r = {}
    for kind in ("facets", "workerd"):
        r[kind] = {"start": starts[kind]}
        log(f"== {kind}: new apps / new objects / warm")
        r[kind].update(measure_latencies(kind, args, args.n))
        log(f"== {kind}: memory")
        r[kind]["rss"] = measure_memory(kind, args)

    f, w = r["facets"], r["workerd"]
    wrk_how = f["warm"][3]
    rows = [
        ("process start → first response (ms, median of 11, interleaved)", f["start"], w["start"]),
        (f"floor: request the entry worker answers itself, p50 (ms, {args.n} requests)", f["floor"][0], w["floor"][0]),
        (f"new app, p50 (ms, {args.n} apps, unique source)", f["new_app"][0], w["new_app"][0]),
        (f"new app, p99 (ms)", f["new_app"][1], w["new_app"][1]),
        (f"new object, loaded code, p50 (ms, {args.n} objects)", f["new_obj"][0], w["new_obj"][0]),
        ("new object, loaded code, p99 (ms)", f["new_obj"][1], w["new_obj"][1]),
        (f"new object, loaded code, 30 ms apart, p50 (ms, {APART} objects)", f["new_obj_apart"][0], w["new_obj_apart"][0]),
        ("new object, loaded code, 30 ms apart, p99 (ms)", f["new_obj_apart"][1], w["new_obj_apart"][1]),
        (f"warm throughput (req/s, {wrk_how})", f["warm"][0], w["warm"][0]),
        ("warm latency p50 (ms)", f["warm"][1], w["warm"][1]),
        ("warm latency p99 (ms)", f["warm"][2], w["warm"][2]),
    ]
    for mark in (1, 100, 1000):
        rows.append((f"RSS with {mark} live object(s) (MiB)", f["rss"][mark], w["rss"][mark]))
    per = lambda x: (x["rss"][1000] - x["rss"][1]) * 1024 / 999
    rows.append(("RSS per object ((RSS@1000 − RSS@1)/999, KiB)", per(f), per(w)))
    for mark in (1, 1000):
        rows.append((f"PSS with {mark} live object(s) (MiB)", f["rss"][f"pss{mark}"], w["rss"][f"pss{mark}"]))
    pss_per = lambda x: (x["rss"]["pss1000"] - x["rss"]["pss1"]) * 1024 / 999
    rows.append(("PSS per object ((PSS@1000 − PSS@1)/999, KiB)", pss_per(f), pss_per(w)))

    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}  ")
    print(f"nproc: {os.cpu_count()} (os.cpu_count), `nproc`: "
          f"{subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()}  ")
    print(f"kernel: {os.uname().release}  ")
    print(f"facets: `{f['cmd']}`  ")
    print(f"workerd: `{w['cmd']}` (config.capnp generated by bench.py; "
          f"{subprocess.run([args.workerd, '--version'], capture_output=True, text=True).stdout.strip()})  ")
    print(f"data dirs: fresh per server under {args.work} (tmpfs)  ")
    print(f"client: Python http.client, one keep-alive connection, sequential; warm row: {wrk_how}\n")
    print("| measure | facets | workerd | facets / workerd |")
    print("|---|---:|---:|---:|")
    for name, a, b in rows:
        ratio = f"{a / b:.2f}" if b else "n/a"
        fmt = (lambda x: f"{x:,.0f}") if "req/s" in name or "KiB" in name else (lambda x: f"{x:,.2f}")
        print(f"| {name} | {fmt(a)} | {fmt(b)} | {ratio} |")
    print()
    print(f"liveness hint: after 1,000 objects, a 2nd request to object #0 took "
          f"{f['rss']['check']:.2f} ms on facets, {w['rss']['check']:.2f} ms on workerd "
          f"(≈ warm latency if it stayed live, ≈ new-object latency if it was evicted)")


if __name__ == "__main__":
    main()
