#!/usr/bin/python3
"""The 1:1 vs M:N report: runs weft's comparison suite and writes a markdown table, the raw
Google Benchmark JSON and PNG plots.

    scripts/report.py [--full] [--build build/release] [--out report]

Every figure comes from a run made here and now: compare_bench (workloads 1-5, 7, 9 and their
peers, one binary so each ratio comes from one run), fanout (workload 6, one process per model
and N), the minimal spawn-join-print program (workload 8, compiled here four ways) and the echo
server (workload 10: bench/echo_bench, thread vs fiber per connection and an epoll loop). The
quick mode (default) repeats each benchmark 3 times; --full repeats 7 times for longer and
runs the fan-out 3 times per point. Medians are reported with the spread (min-max) over the
repetitions. A workload a model cannot run at a size says so ("not run: ...").
The echo workload runs C = 100 and 1,000 three times (15 with --full) and C = 10,000 once
(7), 1 s per cell, with the epoll loop twice per repetition as an A/A control: about a minute in
all on this 2-core machine (quick mode), about 5 minutes with --full.
"""

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def log(msg):
    print(msg, flush=True)


# ----------------------------------------------------------------------------- machine

def machine_facts(build):
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cxx = subprocess.run(["c++", "--version"], capture_output=True, text=True).stdout
    flags = "?"
    ninja = Path(build) / "build.ninja"
    if ninja.exists():
        m = re.search(r"-std=c\+\+20 (-O\d)", ninja.read_text())
        if m:
            flags = f"meson buildtype=release, {m.group(1)}, -std=c++20"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "compiler": cxx.splitlines()[0] if cxx else "?",
        "flags": flags,
    }


# ----------------------------------------------------------------------------- benchmarks

def run_compare_bench(build, out, reps, min_time):
    exe = Path(build) / "bench/compare/compare_bench"
    json_out = Path(out) / "compare_bench.json"
    cmd = [str(exe), f"--benchmark_repetitions={reps}", f"--benchmark_min_time={min_time}",
           "--benchmark_display_aggregates_only=true",
           f"--benchmark_out={json_out}", "--benchmark_out_format=json"]
    log("$ " + " ".join(cmd))
    subprocess.run(cmd, check=True)  # its console output is the progress display
    data = json.loads(json_out.read_text())
    runs = {}
    errors = {}
    for b in data["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue
        name = b["run_name"].removesuffix("/real_time")
        if b.get("error_occurred"):
            errors[name] = b.get("error_message", "error")
            continue
        scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
        runs.setdefault(name, []).append(b["real_time"] * scale)
    return runs, errors


def summary(samples):
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples),
            "n": len(samples)}


def run_fanout(build, out, repeat):
    exe = Path(build) / "bench/compare/fanout"
    sizes = {"fiber": [1_000, 10_000, 100_000, 1_000_000],
             "os": [1_000, 10_000, 100_000, 1_000_000]}
    results = []
    for model, ns in sizes.items():
        stop = None
        for n in ns:
            if stop is not None:
                results.append({"model": model, "n": n, "status": "not run", "error": stop})
                continue
            samples = []
            for _ in range(repeat):
                cmd = [str(exe), f"--model={model}", f"--n={n}"]
                log("$ " + " ".join(cmd))
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
                if p.returncode != 0:
                    raise SystemExit(f"fanout failed: {p.stderr}")
                samples.append(json.loads(p.stdout.strip().splitlines()[-1]))
            if samples[0]["status"] != "ok":
                stop = (f"thread limit, {samples[0]['started']:,} threads started "
                        f"({samples[0]['error']}; vm.max_map_count "
                        f"{Path('/proc/sys/vm/max_map_count').read_text().strip()}: two "
                        "mappings per thread stack)")
                results.append({"model": model, "n": n, "status": "not run", "error": stop})
                continue
            merged = {"model": model, "n": n, "status": "ok"}
            for key in ("spawn_ns_per_task", "rss_bytes_per_task", "wake_join_ns_per_task"):
                merged[key] = summary([s[key] for s in samples])
            results.append(merged)
    (Path(out) / "fanout.json").write_text(json.dumps(results, indent=2))
    return results


def measure_runtime_size(build, out, runs):
    """Workload 8: compile the minimal program per model and link mode, strip, and run it."""
    src = ROOT / "bench/compare/minimal.cpp"
    inc = ROOT / "include"
    lib = Path(build) / "libweft.a"
    boost_static = "/usr/lib/x86_64-linux-gnu/libboost_context.a"
    variants = {
        ("os", "dynamic"): [],
        ("os", "static"): ["-static"],
        ("fiber", "dynamic"): ["-DWEFT_MINIMAL_FIBER", str(lib), "-lboost_context"],
        ("fiber", "static"): ["-DWEFT_MINIMAL_FIBER", "-static", str(lib), boost_static],
    }
    bindir = Path(out) / "minimal"
    bindir.mkdir(parents=True, exist_ok=True)
    results = []
    for (model, link), extra in variants.items():
        exe = bindir / f"minimal_{model}_{link}"
        srcs = [str(src)]
        # Sources before libraries, -static among the flags.
        flags = [e for e in extra if e.startswith("-D") or e == "-static"]
        libs = [e for e in extra if e not in flags]
        cmd = ["c++", "-std=c++20", "-O2", f"-I{inc}", *flags, *srcs, "-o", str(exe), *libs,
               "-pthread"]
        log("$ " + " ".join(cmd))
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            results.append({"model": model, "link": link, "status": "not run",
                            "error": p.stderr.strip().splitlines()[-1] if p.stderr else "?"})
            continue
        subprocess.run(["strip", str(exe)], check=True)
        size = exe.stat().st_size
        times, rss = [], []
        for _ in range(runs):
            t0 = time.perf_counter()
            pid = os.posix_spawn(str(exe), [str(exe)], os.environ,
                                 file_actions=[(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)])
            _, status = os.waitpid(pid, 0)
            times.append((time.perf_counter() - t0) * 1e6)
            if status != 0:
                raise SystemExit(f"{exe} failed")
        # Peak RSS through GNU time: a child's maxrss includes whatever it was before exec, and
        # a child of this Python starts as a copy of it; /usr/bin/time's own child starts small.
        for _ in range(3):
            p = subprocess.run(["/usr/bin/time", "-f", "%M", str(exe)], capture_output=True,
                               text=True, check=True)
            rss.append(int(p.stderr.strip().splitlines()[-1]))
        results.append({"model": model, "link": link, "status": "ok", "stripped_bytes": size,
                        "startup_us": summary(times), "max_rss_kib": summary(rss)})
    (Path(out) / "runtime_size.json").write_text(json.dumps(results, indent=2))
    return results


def run_echo(build, out, full):
    """Workload 10: echo_bench in two calls (C = 10,000 costs most: fewer repetitions)."""
    exe = Path(build) / "bench/echo_bench"
    # Many short repetitions: on a shared host they resolve a ratio better than a few long ones
    # (echo_bench's epoll_again control: A/A 0.80-1.12x with 5 x 2 s, 0.98-1.01x with 15 x 1 s).
    plans = ([("100,1000", 15, 1), ("10000", 7, 1)] if full else
             [("100,1000", 3, 1), ("10000", 1, 1)])
    cells, failures, meta = [], [], {}
    for i, (conns, reps, duration) in enumerate(plans):
        json_out = Path(out) / f"echo_bench_{i}.json"
        cmd = [str(exe), f"--connections={conns}", "--servers=epoll,os,fiber,epoll_again",
               f"--repetitions={reps}",
               f"--duration={duration}", f"--json={json_out}"]
        log("$ " + " ".join(cmd))
        p = subprocess.run(cmd, timeout=900)  # its table is the progress display
        if not json_out.exists():
            failures.append(f"echo_bench --connections={conns} exited {p.returncode}")
            continue
        data = json.loads(json_out.read_text())
        json_out.unlink()
        meta = {k: v for k, v in data.items() if k != "cells"}
        for c in data["cells"]:
            c["plan"] = {"repetitions": reps, "duration_s": duration}
            cells.append(c)
        if p.returncode != 0:
            failures.append(f"echo_bench --connections={conns}: a cell failed")
    result = {"meta": meta, "cells": cells, "failures": failures}
    (Path(out) / "echo_bench.json").write_text(json.dumps(result, indent=2))
    return result


# ----------------------------------------------------------------------------- formatting

def fmt_ns(ns):
    if ns >= 1e9:
        return f"{ns / 1e9:.2f} s"
    if ns >= 1e6:
        return f"{ns / 1e6:.1f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns:.0f} ns" if ns >= 100 else f"{ns:.1f} ns"


def fmt_fig(s):
    """median (min-max) of a summary."""
    return f"{fmt_ns(s['median'])} ({fmt_ns(s['min'])}–{fmt_ns(s['max'])})"


def ratio_text(os_ns, fiber_ns):
    if os_ns >= fiber_ns:
        return f"M:N {os_ns / fiber_ns:,.1f}x faster"
    return f"1:1 {fiber_ns / os_ns:,.1f}x faster"


# (label, os benchmark, fiber benchmark, per-item divisor, peers, note)
ROWS = [
    ("1. switch: yield round trip", "switch/yield/os", "switch/yield/fiber", 1,
     ["switch/yield/boost_fiber", "switch/yield/raw_fcontext"],
     "os: two threads pinned to one CPU, indicative only; fiber: 1 worker"),
    ("2. spawn + join, one task", "spawn/join_one/os", "spawn/join_one/fiber", 1,
     ["spawn/join_one/boost_fiber"], "fiber: 1 worker"),
    ("2. spawn 10k then join, per task", "spawn/batch_10k/os", "spawn/batch_10k/fiber", 10_000,
     [], "fiber: 2 workers"),
    ("3. ping-pong, rendezvous, round trip", "ping_pong/rendezvous/os",
     "ping_pong/rendezvous_1w/fiber", 1,
     ["ping_pong/rendezvous_2w/fiber", "ping_pong/rendezvous/boost_fiber",
      "ping_pong/rendezvous/mutex_condvar_queue"], "fiber: 1 worker (2 workers in peers)"),
    ("3. ping-pong, capacity 1, round trip", "ping_pong/cap1/os", "ping_pong/cap1_1w/fiber", 1,
     ["ping_pong/cap1_2w/fiber"], "fiber: 1 worker (2 workers in peers)"),
    ("4. 4 producers -> 1 consumer, unbounded, per msg", "fan_in/unbounded/os",
     "fan_in/unbounded/fiber", 400_000, ["fan_in/unbounded/mutex_condvar_queue"],
     "fiber: 2 workers"),
    ("4. 4 producers -> 1 consumer, bounded 1024, per msg", "fan_in/bounded1024/os",
     "fan_in/bounded1024/fiber", 400_000,
     ["fan_in/bounded1024_1w/fiber", "fan_in/bounded1024/boost_fiber"],
     "fiber: 2 workers (1 in peers); Boost.Fiber: 1 thread"),
    ("5. mutex: 16 tasks x 100k increments, per lock", "mutex/16x100k/os",
     "mutex/16x100k/fiber", 1_600_000, ["mutex/16x100k/std_mutex", "mutex/16x100k/boost_fiber"],
     "os: 16 threads; fiber: 16 fibers on 2 workers; Boost.Fiber: 16 fibers on 1 thread"),
    None,  # 6. fan-out goes here
    ("7. fork-join fib(20), a spawn per call", "fork_join/fib20/os", "fork_join/fib20/fiber", 1,
     ["fork_join/fib27/fiber"], "fib(20) is the largest n threads run in ~1 s; fib(27) for "
                                "fibers in peers; fiber: 2 workers"),
]

PEER_LABELS = {
    "switch/yield/boost_fiber": "Boost.Fiber",
    "switch/yield/raw_fcontext": "raw fcontext (floor)",
    "spawn/join_one/boost_fiber": "Boost.Fiber",
    "ping_pong/rendezvous_2w/fiber": "fiber 2 workers",
    "ping_pong/rendezvous/boost_fiber": "Boost.Fiber",
    "ping_pong/rendezvous/mutex_condvar_queue": "threads + mutex/condvar queue",
    "ping_pong/cap1_2w/fiber": "fiber 2 workers",
    "fan_in/unbounded/mutex_condvar_queue": "threads + mutex/condvar queue",
    "mutex/16x100k/std_mutex": "std::mutex, 16 threads",
    "mutex/16x100k/boost_fiber": "Boost.Fiber mutex",
    "fan_in/bounded1024/boost_fiber": "Boost.Fiber buffered_channel(1024)",
    "fan_in/bounded1024_1w/fiber": "fiber 1 worker",
    "fork_join/fib27/fiber": "fiber fib(27)",
}


def scaled(s, div):
    return {k: (v / div if k != "n" else v) for k, v in s.items()}


def fanout_rows(lines, ratios, fanout):
    """Workload 6: one row per N and measure."""
    by = {(r["model"], r["n"]): r for r in fanout}
    for n in sorted({r["n"] for r in fanout}):
        o, f = by.get(("os", n)), by.get(("fiber", n))
        for key, what in (("spawn_ns_per_task", "spawn, per task"),
                          ("rss_bytes_per_task", "memory per parked task"),
                          ("wake_join_ns_per_task", "wake + join, per task")):
            def cell(r):
                if r is None:
                    return "not run: not in this suite"
                if r["status"] != "ok":
                    return "not run: " + r["error"]
                s = r[key]
                if key == "rss_bytes_per_task":
                    return f"{s['median'] / 1024:.1f} KiB"
                return fmt_fig(s)
            ratio = "—"
            if o and f and o["status"] == "ok" and f["status"] == "ok":
                a, b = o[key]["median"], f[key]["median"]
                ratio = (f"M:N {a / b:,.1f}x {'less' if key.startswith('rss') else 'faster'}"
                         if a >= b else
                         f"1:1 {b / a:,.1f}x {'less' if key.startswith('rss') else 'faster'}")
                if key == "spawn_ns_per_task":
                    ratios.append((f"6. fan-out {n:,}: spawn", a / b))
                if key == "rss_bytes_per_task":
                    ratios.append((f"6. fan-out {n:,}: memory", a / b))
            lines.append(f"| 6. fan-out N={n:,}: {what} | {cell(o)} | {cell(f)} | {ratio} | — | "
                         "N tasks parked on one condition variable; RSS delta / N |")


def line_transfer_note(runs, errors):
    """The machine's cross-vCPU cache-line cost, measured first and last in compare_bench."""
    figs = []
    for when in ("start", "end"):
        name = f"machine/line_transfer/{when}"
        if name in runs:
            figs.append(f"{fmt_fig(scaled(summary(runs[name]), 2))} at the {when}")
        else:
            figs.append(f"{errors.get(name, 'not run')} at the {when}")
    return ("One cache line moved from cpu 0 to cpu 1 (two threads taking turns on one atomic): "
            + " and ".join(figs) + " of this run. Rows on 2 workers or 2+ threads pay at least "
            "this each time a line their tasks share (a channel's lock and slots, a run queue) "
            "changes hands; on a VM it changes as the hypervisor moves vCPUs between cores and "
            "caches (36–274 ns within one run on the 2-vCPU VM this project is measured on).")


def build_tables(runs, errors, fanout, sizes, facts, mode):
    lines = []
    lines.append(f"# weft: 1:1 threads vs M:N fibers ({mode} mode)")
    lines.append("")
    lines.append(f"Machine: {facts['cpu']}, {facts['cores']} cores, Linux {facts['kernel']}, "
                 f"{facts['compiler']}, {facts['flags']}. Figures: median (min–max) of "
                 "the repetitions; real time.")
    lines.append("")
    lines.append("| workload | 1:1 (weft::os) | M:N (weft::fiber) | ratio | peers | notes |")
    lines.append("|---|---|---|---|---|---|")
    ratios = []
    for row in ROWS:
        if row is None:
            fanout_rows(lines, ratios, fanout)
            continue
        label, osb, fib, div, peers, note = row
        def fig(name):
            if name in errors:
                return None, f"failed: {errors[name]}"
            if name not in runs:
                return None, "not run"
            s = scaled(summary(runs[name]), div)
            return s, fmt_fig(s)
        os_s, os_txt = fig(osb)
        fi_s, fi_txt = fig(fib)
        ratio = ratio_text(os_s["median"], fi_s["median"]) if os_s and fi_s else "—"
        if os_s and fi_s:
            ratios.append((label, os_s["median"] / fi_s["median"]))
        peer_txt = "; ".join(f"{PEER_LABELS.get(p, p)} {fig(p)[1]}" for p in peers)
        lines.append(f"| {label} | {os_txt} | {fi_txt} | {ratio} | {peer_txt or '—'} | {note} |")
    # runtime size
    sz = {(r["model"], r["link"]): r for r in sizes}
    for link in ("dynamic", "static"):
        o, f = sz.get(("os", link)), sz.get(("fiber", link))
        def c(r, key):
            if r is None or r["status"] != "ok":
                return "not run: " + (r["error"] if r else "?")
            if key == "stripped_bytes":
                return f"{r[key] / 1024:.1f} KiB"
            if key == "startup_us":
                return fmt_fig({k: v * 1e3 for k, v in r[key].items() if k != "n"})
            return f"{r[key]['median'] / 1024:.1f} MiB"
        for key, what in (("stripped_bytes", "stripped binary"), ("startup_us", "start-up to exit"),
                          ("max_rss_kib", "peak RSS")):
            ratio = "—"
            if o and f and o["status"] == "ok" and f["status"] == "ok":
                a = o[key] if key == "stripped_bytes" else o[key]["median"]
                b = f[key] if key == "stripped_bytes" else f[key]["median"]
                ratio = f"1:1 {b / a:,.2f}x smaller" if key != "startup_us" else (
                    f"1:1 {b / a:,.2f}x faster" if b >= a else f"M:N {a / b:,.2f}x faster")
                if key == "stripped_bytes":
                    ratios.append((f"8. binary size ({link})", a / b))
            lines.append(f"| 8. runtime size, {link}: {what} | {c(o, key)} | {c(f, key)} | {ratio} "
                         "| — | the minimal spawn-join-print program (bench/compare/minimal.cpp) |")
    lines.append("")
    lines.append(line_transfer_note(runs, errors))
    lines.append("")
    # policies
    lines.append("Scheduling policies (fibers, 2 workers):")
    lines.append("")
    lines.append("| workload | work_stealing | global_fifo | pinned |")
    lines.append("|---|---|---|---|")
    for w, label in (("spawn_join", "2. spawn + join"), ("ping_pong_rendezvous", "3. ping-pong"),
                     ("fib27", "7. fib(27)")):
        cells = []
        for p in ("work_stealing", "global_fifo", "pinned"):
            name = f"policy/{w}/{p}"
            cells.append(fmt_fig(summary(runs[name])) if name in runs else
                         f"failed: {errors.get(name, 'not run')}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
    return "\n".join(lines), ratios


ECHO_SERVERS = (("epoll", "epoll loop (floor)"), ("os", "1:1 thread per connection"),
                ("fiber", "M:N fiber per connection"),
                ("epoll_again", "epoll loop again (A/A control)"))


def echo_table(echo, ratios):
    """Workload 10: one row per C and server, then the ratios the issue sets targets for."""
    meta = echo["meta"]
    lines = ["## 10. Echo server: thread vs fiber per connection", ""]
    lines.append(
        f"bench/echo_bench: {meta.get('size', 64)}-byte closed loops over loopback, one "
        "connection per loop; the server is forked and pinned to cpu "
        f"{meta.get('server_cpu', 0)} (the fiber runtime has 1 worker), the epoll load generator "
        f"is pinned to cpu {meta.get('client_cpu', 1)}. Servers: examples/echo.hpp's session under "
        "net::tcp_server on weft::os and on weft::fiber (one source), and a hand-written "
        "single-threaded epoll loop. Round trips/s: median (min–max) over the repetitions; "
        "latency percentiles and RSS: medians. RSS per connection: (server VmRSS with all C "
        "connections open and idle - VmRSS before any) / C. Server CPU / round trip: the server "
        "process's user + system time while measured over the round trips completed; on two "
        "cores the load generator is often the bottleneck, and this shows what each server costs. "
        "Ratios are of the medians; \"paired\" is the median of the per-repetition ratios "
        "(repetition k of each server runs back to back, so a slow drift of the host cancels). "
        "The epoll loop runs twice per repetition: the A/A ratio of the two identical servers is "
        "how far this run's noise alone moves a ratio.")
    lines.append("")
    lines.append("| C | server | runs | round trips/s | p50 | p99 | p99.9 | server RSS / conn | "
                 "server CPU / round trip |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    by = {(c["connections"], c["server"]): c for c in echo["cells"]}
    def cpu_of(m):  # absent from runs before the field existed
        v = m.get("server_cpu_us_per_rt")
        return fmt_ns(v * 1e3) if v else "n/a"
    def us(v):
        return fmt_ns(v * 1e3)
    checks = []
    for n in sorted({c["connections"] for c in echo["cells"]}):
        for key, label in ECHO_SERVERS:
            c = by.get((n, key))
            if c is None:
                continue
            m = c["median"]
            runs = f"{c['plan']['repetitions']} x {c['plan']['duration_s']} s"
            if not m["ok"]:
                lines.append(f"| {n:,} | {label} | {runs} | failed | | | | | |")
                continue
            rts = [r["round_trips_per_s"] for r in c["repetitions"] if r["ok"]]
            lines.append(f"| {n:,} | {label} | {runs} | {m['round_trips_per_s']:,.0f} "
                         f"({min(rts):,.0f}–{max(rts):,.0f}) | {us(m['p50_us'])} | "
                         f"{us(m['p99_us'])} | {us(m['p999_us'])} | "
                         f"{m['rss_kib_per_conn']:.2f} KiB | {cpu_of(m)} |")
        e, o, f = (by.get((n, k)) for k in ("epoll", "os", "fiber"))
        ok = [x is not None and x["median"]["ok"] for x in (e, o, f)]
        if not all(ok):
            continue
        paired_epoll = f["paired_vs"]["epoll"]  # echo_bench computes it
        a = by.get((n, "epoll_again"))
        control = ""
        if a is not None and a["median"]["ok"]:
            control = (f"; A/A control epoll_again/epoll "
                       f"{a['median']['round_trips_per_s'] / e['median']['round_trips_per_s']:.2f}x "
                       f"(paired {a['paired_vs']['epoll']:.2f}x)")
        e, o, f = e["median"], o["median"], f["median"]
        vs_epoll = f["round_trips_per_s"] / e["round_trips_per_s"]
        vs_os = f["round_trips_per_s"] / o["round_trips_per_s"]
        p99 = f["p99_us"] / o["p99_us"]
        rss = f["rss_kib_per_conn"] / o["rss_kib_per_conn"] if o["rss_kib_per_conn"] > 0 else 0
        ratios.append((f"10. echo C={n:,}: round trips/s", vs_os))
        if n >= 10_000:
            ratios.append((f"10. echo C={n:,}: RSS per connection", 1 / rss if rss else 0))
        def mark(good):
            return "met" if good else "missed"
        t = (f"fiber/epoll {vs_epoll:.2f}x (paired {paired_epoll:.2f}x), fiber/thread "
             f"{vs_os:.2f}x, p99 fiber/thread {p99:.2f}x")
        if e.get("server_cpu_us_per_rt") and f.get("server_cpu_us_per_rt"):
            t += f", server CPU per round trip fiber/epoll " \
                 f"{f['server_cpu_us_per_rt'] / e['server_cpu_us_per_rt']:.2f}x"
        if n >= 1_000:
            t += (f" (targets: >= 0.9x {mark(vs_epoll >= 0.9)}, >= 1.4x {mark(vs_os >= 1.4)}, "
                  f"<= 1x {mark(p99 <= 1.0)})")
        t += f"; RSS fiber/thread {rss:.2f}x"
        if n >= 10_000:
            t += f" (target <= 0.6x: {mark(rss <= 0.6)})"
        t += control
        checks.append(f"- C = {n:,}: {t}")
    lines.append("")
    lines.extend(checks)
    for fail in echo["failures"]:
        lines.append(f"- failed: {fail}")
    lines.append("")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- plots

def plot(out, fanout, ratios):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib missing (Debian: python3-matplotlib): no plots")
        return []
    files = []
    ok = [r for r in fanout if r["status"] == "ok"]
    for key, ylabel, fname in (
            ("spawn_ns_per_task", "spawn cost per task (ns)", "fanout_cost_per_task.png"),
            ("rss_bytes_per_task", "resident memory per parked task (bytes)",
             "fanout_memory_per_task.png")):
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for model, marker in (("os", "o"), ("fiber", "s")):
            pts = sorted((r["n"], r[key]["median"]) for r in ok if r["model"] == model)
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=marker,
                        label="1:1 weft::os" if model == "os" else "M:N weft::fiber")
        for r in fanout:
            if r["status"] != "ok" and r["model"] == "os":
                ax.axvline(r["n"], color="grey", linestyle=":", linewidth=1)
                ax.text(r["n"], ax.get_ylim()[0], " threads: not run", rotation=90,
                        va="bottom", fontsize=7, color="grey")
                break
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("N tasks parked on one condition")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(Path(out) / fname, dpi=110)
        plt.close(fig)
        files.append(fname)
    if ratios:
        fig, ax = plt.subplots(figsize=(7.5, 0.35 * len(ratios) + 1.2))
        labels = [r[0] for r in ratios]
        vals = [r[1] for r in ratios]
        colors = ["tab:blue" if v >= 1 else "tab:orange" for v in vals]
        ax.barh(labels, vals, color=colors)
        ax.set_xscale("log")
        ax.axvline(1, color="black", linewidth=0.8)
        ax.set_xlabel("1:1 figure / M:N figure  (>1: M:N wins, <1: 1:1 wins)")
        ax.invert_yaxis()
        ax.tick_params(axis="y", labelsize=7)
        fig.tight_layout()
        fig.savefig(Path(out) / "ratios.png", dpi=110)
        plt.close(fig)
        files.append("ratios.png")
    return files


# ----------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="more repetitions, tighter figures")
    ap.add_argument("--build", default=str(ROOT / "build/release"))
    ap.add_argument("--out", default=str(ROOT / "report"))
    args = ap.parse_args()
    mode = "full" if args.full else "quick"
    reps, min_time, fan_repeat, size_runs = (7, 0.5, 3, 50) if args.full else (3, 0.1, 1, 15)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.time()
    facts = machine_facts(args.build)
    log(f"== weft report ({mode}): {facts['cpu']}, {facts['cores']} cores ==")
    log("== 1-5, 7, 9: compare_bench ==")
    runs, errors = run_compare_bench(args.build, out, reps, min_time)
    log("== 6: fan-out ==")
    fanout = run_fanout(args.build, out, fan_repeat)
    log("== 8: runtime size ==")
    sizes = measure_runtime_size(args.build, out, size_runs)
    log("== 10: echo server ==")
    echo = run_echo(args.build, out, args.full)
    table, ratios = build_tables(runs, errors, fanout, sizes, facts, mode)
    table += "\n" + echo_table(echo, ratios)
    table = table.replace("of the repetitions",
                          f"of {reps} repetitions (fan-out: {fan_repeat} run"
                          f"{'s' if fan_repeat > 1 else ''} per point)")
    pngs = plot(out, fanout, ratios)
    if pngs:
        table += "\nPlots: " + ", ".join(f"[{p}]({p})" for p in pngs) + "\n"
    table += (f"\nRaw data: compare_bench.json (Google Benchmark), fanout.json, "
              f"runtime_size.json, echo_bench.json. Suite time: {time.time() - start:.0f} s.\n")
    (out / "report.md").write_text(table)
    log("")
    log(table)
    log(f"== written: {out}/report.md ==")
    if errors or echo["failures"]:
        log("some workloads failed their own checks: " +
            ", ".join(sorted(errors) + echo["failures"]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
