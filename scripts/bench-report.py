#!/usr/bin/env python3
"""Summarise make bench: the guest's BENCH lines -> JSON, a table, a plot.

Usage: bench-report.py SCRIPT_OUT OUTDIR

Per workload and target (raw null_blk, dm, md raid0 for the striped
workloads, bstack), over the rounds: median IOPS, median fio CPU (usr+sys,
% of one CPU), median guest CPU (busy % of all CPUs, from /proc/stat over
the fio run), the guest CPU time per I/O in microseconds, and median p99
completion latency. Then the ratios bstack/raw, bstack/dm and bstack/md,
and the goals of issue 15.

The table-size axis (workloads lines-N, with their BENCH-LOAD lines):
instructions per I/O against the number of lines for dm and bstack, the
growth from the smallest table to the largest, the guest time of the
table's load and remove, and the kernel memory the device took; the goals
of issue 15 (at or below dm at every size, growth at most half of dm's,
load time and memory at or below dm's), and tables.png.

The devices axis (BENCH-DEVICES): the guest time per device of making N
one-line devices and of removing them, against dm (goal: at or below).

The reload axis (BENCH-RELOAD): the guest time of each reload (suspend,
load, resume) under 4k QD32 reads and writes, and the longest completion
latency fio saw meanwhile, against dm (goal: at or below on both, and no
I/O error), and reload.png.
"""
import json
import os
import statistics
import subprocess
import sys

TARGETS = ("raw", "dm", "md", "bstack")
# workload -> (what the goal compares, minimum ratio), from issue 15.
GOALS = {
    "randread-qd32": [("dm", 1.10), ("raw", 0.90)],
    "seqread-128k": [("dm", 1.03), ("raw", 0.97)],
    "striped-randread": [("dm", 1.03), ("md", 1.05)],
    "striped-seqread-1m": [("dm", 1.03), ("md", 1.05)],
}
DEFAULT_GOAL = [("dm", 1.03)]


def parse(path):
    info, runs, errors, loads, notes = {}, [], [], [], []
    devices, reloads = [], []
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("BENCH-DEVICES "):
                parts = line.split()
                if len(parts) != 6:
                    errors.append("short line: " + line[:80])
                    continue
                _, rnd, target, n, create_ns, remove_ns = parts
                devices.append((target, int(n), int(create_ns),
                                int(remove_ns)))
            elif line.startswith("BENCH-RELOAD "):
                parts = line.split(" ", 5)
                if len(parts) != 6:
                    errors.append("short line: " + line[:80])
                    continue
                _, rnd, target, times, ios, js = parts
                try:
                    fio = json.loads(js)
                except ValueError:
                    errors.append(f"round {rnd} reload {target}: fio's JSON did not parse")
                    continue
                reloads.append((target, [int(t) for t in times.split(",")],
                                int(ios), fio))
            elif line.startswith("BENCH-LOAD "):
                parts = line.split()
                if len(parts) != 7:
                    errors.append("short line: " + line[:80])
                    continue
                _, rnd, work, target, load_ns, remove_ns, kb = parts
                loads.append((work, target, int(load_ns), int(remove_ns),
                              int(kb)))
            elif line.startswith("BENCH-NOTE "):
                if line[len("BENCH-NOTE "):] not in notes:
                    notes.append(line[len("BENCH-NOTE "):])
            elif line.startswith("BENCH-INFO "):
                words = line.split()[1:]
                info = dict(zip(words[0::2], words[1::2]))
            elif line.startswith("BENCH-ERROR "):
                errors.append(line[len("BENCH-ERROR "):])
            elif line.startswith("BENCH "):
                parts = line.split(" ", 6)
                if len(parts) < 7:
                    errors.append("short line: " + line[:80])
                    continue
                _, rnd, work, target, busy, total, js = parts
                try:
                    fio = json.loads(js)
                except ValueError:
                    errors.append(f"round {rnd} {work} {target}: fio's JSON did not parse")
                    continue
                runs.append((int(rnd), work, target, int(busy), int(total), fio))
    info["notes"] = notes
    return info, runs, errors, loads, devices, reloads


def devices_axis(result, devices):
    """The devices section: per-device create and remove times."""
    if not devices:
        return []
    axis = {}
    for t in ("dm", "bstack"):
        ds = [d for d in devices if d[0] == t]
        if ds:
            axis[t] = {
                "devices": ds[0][1],
                "create_ms_per_device": statistics.median(
                    d[2] / d[1] for d in ds) / 1e6,
                "remove_ms_per_device": statistics.median(
                    d[3] / d[1] for d in ds) / 1e6,
                "rounds": len(ds)}
    result["devices"] = axis
    n = next(iter(axis.values()))["devices"]
    lines = ["", "devices: %d one-line devices made one by one, then removed one"
             " by one (dmsetup and bstackctl, --noudevsync); guest ms per device"
             % n]
    head = "%-7s %10s %10s  %s" % ("target", "create ms", "remove ms", "vs dm")
    lines.append(head)
    lines.append("-" * len(head))
    for t in ("dm", "bstack"):
        if t not in axis:
            continue
        a, vs = axis[t], ""
        if t == "bstack" and "dm" in axis:
            vs = ", ".join("%s %s" % (what, "met" if a[k] <= axis["dm"][k]
                                      else "MISSED")
                           for k, what in (("create_ms_per_device", "create"),
                                           ("remove_ms_per_device", "remove")))
        lines.append("%-7s %10.2f %10.2f  %s" % (
            t, a["create_ms_per_device"], a["remove_ms_per_device"], vs))
    return lines


def fio_max_clat_ms(fio):
    job = fio["jobs"][0]
    return max(job[d].get("clat_ns", {}).get("max", 0)
               for d in ("read", "write")) / 1e6


def reload_axis(result, reloads, outdir, kernel):
    """The reload section: reload times and the longest I/O, reload.png."""
    if not reloads:
        return []
    axis = {}
    for t in ("dm", "bstack"):
        rs = [r for r in reloads if r[0] == t]
        if not rs:
            continue
        times = [x / 1e6 for r in rs for x in r[1]]
        axis[t] = {
            "reloads": len(times),
            "reload_ms_median": statistics.median(times),
            "reload_ms_max": max(times),
            "max_clat_ms": statistics.median(fio_max_clat_ms(r[3]) for r in rs),
            "ios_during": statistics.median(r[2] for r in rs),
            "io_errors": sum(r[3]["jobs"][0].get("error", 0) != 0 or
                             r[3]["jobs"][0].get("total_err", 0) != 0
                             for r in rs),
            "times_ms": [x / 1e6 for x in rs[0][1]]}
    result["reload"] = axis
    lines = ["", "reload under load: suspend, load, resume of the same one-line"
             " table, with 4k random reads and writes (io_uring QD32) running;"
             " guest ms"]
    head = "%-7s %8s %11s %11s %13s %10s %6s  %s" % (
        "target", "reloads", "median ms", "longest ms", "longest I/O ms",
        "I/Os meanw", "errors", "vs dm")
    lines.append(head)
    lines.append("-" * len(head))
    for t in ("dm", "bstack"):
        if t not in axis:
            continue
        a, vs = axis[t], ""
        if t == "bstack" and "dm" in axis:
            d = axis["dm"]
            vs = ", ".join("%s %s" % (what, "met" if ok else "MISSED")
                           for what, ok in (
                               ("reload", a["reload_ms_median"] <= d["reload_ms_median"]),
                               ("longest I/O", a["max_clat_ms"] <= d["max_clat_ms"]),
                               ("no error", a["io_errors"] == 0)))
        lines.append("%-7s %8d %11.2f %11.2f %13.2f %10.0f %6d  %s" % (
            t, a["reloads"], a["reload_ms_median"], a["reload_ms_max"],
            a["max_clat_ms"], a["ios_during"], a["io_errors"], vs))
    dat = os.path.join(outdir, "reload.dat")
    with open(dat, "w") as f:
        f.write("reload dm bstack\n")
        for i in range(max(len(a["times_ms"]) for a in axis.values())):
            f.write("%d %s\n" % (i + 1, " ".join(
                "%.3f" % axis[t]["times_ms"][i]
                if t in axis and i < len(axis[t]["times_ms"]) else "NaN"
                for t in ("dm", "bstack"))))
    png = os.path.join(outdir, "reload.png")
    plot = """
set terminal png size 800,480
set output '%s'
set title 'Reload (suspend, load, resume) under 4k QD32 load, kernel %s'
set xlabel 'reload'
set ylabel 'guest ms'
set yrange [0:*]
set key top left
set grid
plot '%s' using 1:2 with linespoints title 'dm', '' using 1:3 with linespoints title 'bstack'
""" % (png, kernel, dat)
    try:
        subprocess.run(["gnuplot"], input=plot, text=True, check=True)
        lines.append("plot: " + png)
    except (OSError, subprocess.CalledProcessError) as e:
        lines.append("no plot (gnuplot: %s)" % e)
    return lines


def table_axis(result, loads, outdir, kernel):
    """The table-size section: text lines, and tables.json/png data."""
    sizes = sorted({int(w[len("lines-"):]) for w in result["workloads"]
                    if w.startswith("lines-")})
    if not sizes:
        return []
    icount = result["info"].get("clock") == "icount"
    axis = {"sizes": sizes, "targets": {}}
    for t in ("dm", "bstack"):
        rows = []
        for n in sizes:
            w = result["workloads"].get("lines-%d" % n, {}).get(t)
            ls = [l for l in loads if l[0] == "lines-%d" % n and l[1] == t]
            row = {"lines": n,
                   "iops": w["iops_median"] if w else None,
                   "insn_per_io": (1e9 / w["iops_median"]
                                   if w and w["iops_median"] and icount
                                   else None)}
            if ls:
                row["load_ms"] = statistics.median(l[2] for l in ls) / 1e6
                row["remove_ms"] = statistics.median(l[3] for l in ls) / 1e6
                row["kernel_kib"] = statistics.median(l[4] for l in ls)
            rows.append(row)
        axis["targets"][t] = rows
    result["tables"] = axis

    lines = ["", "table size: 4k random reads (io_uring QD32) over all of null_blk"
             " through N linear lines, and over 8 null_blk through one line"
             " striped in 64 KiB chunks; load and remove in guest ms"
             + (" (instructions / 10^6)" if icount else "")
             + ", kernel memory (SUnreclaim + VmallocUsed) in KiB"]
    head = "%9s  %-7s %9s %11s %10s %10s  %s" % (
        "lines", "target", "insn/IO" if icount else "IOPS", "load ms",
        "remove ms", "kernel KiB", "vs dm")
    lines.append(head)
    lines.append("-" * len(head))
    dm_rows = {r["lines"]: r for r in axis["targets"]["dm"]}
    for i, n in enumerate(sizes):
        for t in ("dm", "bstack"):
            r = axis["targets"][t][i]
            cost = r["insn_per_io"] if icount else r["iops"]
            vs = ""
            d = dm_rows[n]
            if t == "bstack":
                checks = []
                if icount and cost and d["insn_per_io"]:
                    checks.append(("insn/IO", cost <= d["insn_per_io"]))
                for k, what in (("load_ms", "load"), ("kernel_kib", "memory")):
                    if r.get(k) is not None and d.get(k) is not None:
                        checks.append((what, r[k] <= d[k]))
                vs = ", ".join("%s %s" % (what, "met" if ok else "MISSED")
                               for what, ok in checks)
            lines.append("%9d  %-7s %9s %11s %10s %10s  %s" % (
                n, t, "%.0f" % cost if cost else "-",
                "%.1f" % r["load_ms"] if "load_ms" in r else "-",
                "%.1f" % r["remove_ms"] if "remove_ms" in r else "-",
                "%.0f" % r["kernel_kib"] if "kernel_kib" in r else "-", vs))
    striped = {}
    for t in ("dm", "bstack"):
        w = result["workloads"].get("striped-8", {}).get(t)
        ls = [l for l in loads if l[0] == "striped-8" and l[1] == t]
        if w:
            striped[t] = {"iops": w["iops_median"],
                          "insn_per_io": 1e9 / w["iops_median"]
                          if icount and w["iops_median"] else None}
            if ls:
                striped[t]["load_ms"] = statistics.median(l[2] for l in ls) / 1e6
                striped[t]["remove_ms"] = statistics.median(l[3] for l in ls) / 1e6
                striped[t]["kernel_kib"] = statistics.median(l[4] for l in ls)
    if striped:
        axis["striped-8"] = striped
    for t in ("dm", "bstack"):
        if t not in striped:
            continue
        r = striped[t]
        cost = r["insn_per_io"] if icount else r["iops"]
        vs = ""
        if t == "bstack" and "dm" in striped and icount and cost:
            vs = "insn/IO %s" % ("met" if cost <= striped["dm"]["insn_per_io"]
                                 else "MISSED")
        lines.append("%9s  %-7s %9s %11s %10s %10s  %s" % (
            "8 stripes", t, "%.0f" % cost if cost else "-",
            "%.1f" % r["load_ms"] if "load_ms" in r else "-",
            "%.1f" % r["remove_ms"] if "remove_ms" in r else "-",
            "%.0f" % r["kernel_kib"] if "kernel_kib" in r else "-", vs))
    lines.extend("note: " + n for n in result["info"].get("notes", [])
                 if n.startswith("lines-"))
    if icount and len(sizes) > 1:
        growth = {}
        for t in ("dm", "bstack"):
            a = axis["targets"][t][0]["insn_per_io"]
            b = axis["targets"][t][-1]["insn_per_io"]
            growth[t] = b - a if a and b else None
        axis["growth"] = growth
        if growth["dm"] is not None and growth["bstack"] is not None:
            ok = growth["bstack"] <= growth["dm"] / 2
            lines.append("growth from %d to %d lines: dm %+.0f, bstack %+.0f"
                         " instructions per I/O: %s (at most half of dm's)"
                         % (sizes[0], sizes[-1], growth["dm"],
                            growth["bstack"], "met" if ok else "MISSED"))

    if icount:
        dat = os.path.join(outdir, "tables.dat")
        with open(dat, "w") as f:
            f.write("lines dm bstack\n")
            for i, n in enumerate(sizes):
                f.write("%d %s\n" % (n, " ".join(
                    "%.1f" % (axis["targets"][t][i]["insn_per_io"] or 0)
                    for t in ("dm", "bstack"))))
        png = os.path.join(outdir, "tables.png")
        plot = """
set terminal png size 800,480
set output '%s'
set title 'Instructions per 4k read against table size, kernel %s'
set logscale x
set xlabel 'linear lines in the table'
set ylabel 'instructions per I/O (whole guest)'
set key top left
set grid
plot '%s' using 1:2 with linespoints title 'dm', '' using 1:3 with linespoints title 'bstack'
""" % (png, kernel, dat)
        try:
            subprocess.run(["gnuplot"], input=plot, text=True, check=True)
            lines.append("plot: " + png)
        except (OSError, subprocess.CalledProcessError) as e:
            lines.append("no plot (gnuplot: %s)" % e)
    return lines


def measures(busy, total, fio, ncpu):
    job = fio["jobs"][0]
    rd, wr = job["read"], job["write"]
    iops = rd["iops"] + wr["iops"]
    p99 = 0.0
    for d in (rd, wr):
        pct = d.get("clat_ns", {}).get("percentile", {})
        if d["iops"] and "99.000000" in pct:
            p99 = max(p99, pct["99.000000"] / 1000.0)
    busy_pct = 100.0 * busy / total if total else 0.0
    return {
        "iops": iops,
        "fio_cpu": job["usr_cpu"] + job["sys_cpu"],
        "busy_pct": busy_pct,
        # CPU time of the whole guest per I/O, in microseconds.
        "cpu_us_per_io": busy_pct / 100.0 * ncpu * 1e6 / iops if iops else 0.0,
        "p99_us": p99,
    }


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: bench-report.py SCRIPT_OUT OUTDIR")
    info, runs, errors, loads, devices, reloads = parse(sys.argv[1])
    outdir = sys.argv[2]
    if not runs and not devices and not reloads:
        sys.exit("bench-report: no BENCH lines in " + sys.argv[1] +
                 ("; errors: " + "; ".join(errors) if errors else ""))
    ncpu = int(info.get("cpus", "1"))
    order, data = [], {}
    for rnd, work, target, busy, total, fio in runs:
        if work not in data:
            order.append(work)
            data[work] = {t: [] for t in TARGETS}
        data[work][target].append(measures(busy, total, fio, ncpu))

    result = {"info": info, "errors": errors, "workloads": {}}
    rows = []
    for work in order:
        w = {}
        for t in TARGETS:
            ms = data[work][t]
            if not ms:
                continue
            w[t] = {"runs": ms}
            for k in ms[0]:
                w[t][k + "_median"] = statistics.median(m[k] for m in ms)
        ratios = {}
        if "bstack" in w:
            for base in ("raw", "dm", "md"):
                if base in w and w[base]["iops_median"]:
                    ratios["bstack/" + base] = (w["bstack"]["iops_median"] /
                                                w[base]["iops_median"])
            if "dm" in w and w["bstack"]["cpu_us_per_io_median"]:
                ratios["cpu_per_io_dm/bstack"] = (
                    w["dm"]["cpu_us_per_io_median"] /
                    w["bstack"]["cpu_us_per_io_median"])
        goals = []
        for base, need in GOALS.get(work, DEFAULT_GOAL):
            got = ratios.get("bstack/" + base)
            # A base that refused every run of the workload (dm refuses
            # polled I/O on some kernels) leaves nothing to compare with.
            refused = base not in w and any(
                e.split()[1:3] == [work, base] for e in errors)
            goals.append({"vs": base, "need": need, "got": got,
                          "met": None if refused else
                          (got is not None and got >= need)})
        w["ratios"] = ratios
        w["goals"] = goals
        result["workloads"][work] = w
        rows.append((work, w))

    table_lines = table_axis(result, loads, outdir, info.get("kernel", "?"))
    table_lines += devices_axis(result, devices)
    table_lines += reload_axis(result, reloads, outdir, info.get("kernel", "?"))
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump(result, f, indent=1)

    lines = []
    lines.append("bstack benchmark: kernel %s, %s rounds of %s s, %s CPUs, %s clock (medians)"
                 % (info.get("kernel", "?"), info.get("rounds", "?"),
                    info.get("runtime", "?"), ncpu, info.get("clock", "wall")))
    if info.get("clock") == "icount":
        lines.append("icount clock: 1 guest ns = 1 instruction, so insn/IO = 10^9 / IOPS;")
        lines.append("guest% and CPU us/IO count a waiting vCPU as busy: read IOPS")
    lines.append("")
    if rows:
        icount = info.get("clock") == "icount"
        head = "%-18s %-7s %10s %15s %8s %8s %9s %9s" % (
            "workload", "target", "IOPS", "(min..max)", "fio CPU%", "guest%",
            "CPU us/IO", "p99 us") + (" %8s" % "insn/IO" if icount else "")
        lines.append(head)
        lines.append("-" * len(head))
        for work, w in rows:
            for t in TARGETS:
                if t not in w:
                    continue
                m = w[t]
                iops = [r["iops"] for r in m["runs"]]
                line = "%-18s %-7s %10.0f %15s %8.1f %8.1f %9.1f %9.0f" % (
                    work, t, m["iops_median"],
                    "(%.0f..%.0f)" % (min(iops), max(iops)), m["fio_cpu_median"],
                    m["busy_pct_median"], m["cpu_us_per_io_median"],
                    m["p99_us_median"])
                if icount and m["iops_median"]:
                    line += " %8.0f" % (1e9 / m["iops_median"])
                lines.append(line)
        lines.append("")
        head = "%-18s %12s %11s %11s %16s  %s" % (
            "workload", "bstack/raw", "bstack/dm", "bstack/md",
            "dm CPU/bstack CPU", "goal")
        lines.append(head)
        lines.append("-" * len(head))
        for work, w in rows:
            r = w["ratios"]
            goal = ", ".join("n/a: %s refused it" % g["vs"] if g["met"] is None
                             else "%s x%s %s" % ("met" if g["met"] else "MISSED",
                                                 g["need"], g["vs"])
                             for g in w["goals"])
            lines.append("%-18s %12.3f %11.3f %11s %16.3f  %s" % (
                work, r.get("bstack/raw", 0), r.get("bstack/dm", 0),
                "%.3f" % r["bstack/md"] if "bstack/md" in r else "-",
                r.get("cpu_per_io_dm/bstack", 0), goal))
    lines.extend(table_lines)
    if errors:
        lines.append("")
        lines.append("errors: " + "; ".join(errors))
    text = "\n".join(lines) + "\n"
    with open(os.path.join(outdir, "results.txt"), "w") as f:
        f.write(text)
    sys.stdout.write(text)

    if rows:
        # IOPS relative to raw null_blk, per workload: dm and bstack side by side.
        dat = os.path.join(outdir, "bench.dat")
        with open(dat, "w") as f:
            f.write("workload raw dm md bstack\n")
            for work, w in rows:
                raw = w.get("raw", {}).get("iops_median") or 1
                f.write("%s %s\n" % (work, " ".join(
                    "%.4f" % (w[t]["iops_median"] / raw if t in w else 0)
                    for t in TARGETS)))
        png = os.path.join(outdir, "bench.png")
        plot = """
set terminal png size 1000,520
set output '%s'
set title 'IOPS relative to raw null_blk (medians), kernel %s'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set yrange [0:*]
set ylabel 'x raw'
set xtics rotate by -25
set key top right
set grid ytics
plot '%s' using 2:xtic(1) title 'raw', '' using 3 title 'dm', '' using 4 title 'md raid0', '' using 5 title 'bstack'
""" % (png, info.get("kernel", "?"), dat)
        try:
            subprocess.run(["gnuplot"], input=plot, text=True, check=True)
            print("plot: " + png)
        except (OSError, subprocess.CalledProcessError) as e:
            print("no plot (gnuplot: %s)" % e)
    print("results: %s, %s" % (os.path.join(outdir, "results.json"),
                               os.path.join(outdir, "results.txt")))


if __name__ == "__main__":
    main()
