#!/usr/bin/env python3
"""Names the functions in tbprof's dumps, per I/O: make profile's report.

usage: profile-report.py SCRIPT_OUT VMLINUX_SYMS DUMP_PREFIX OUTDIR

SCRIPT_OUT is the guest's output (scripts/bench-guest.sh with PROFILE set):
its BENCH lines give each target's fio run in order, and its PROFILE-SYM
lines the modules' symbols. VMLINUX_SYMS has "ADDRESS NAME" lines. The
dumps are DUMP_PREFIX.N; dump 2k+1 covers the k-th fio run. Writes
OUTDIR/profile.txt (also printed) and OUTDIR/profile.json.
"""
import bisect
import collections
import json
import os
import sys

USER = "(user space)"
KERNEL_START = 0xffff800000000000
TOP = 45


def load_syms(vmlinux, script_out):
    syms = []
    with open(vmlinux) as f:
        for line in f:
            addr, name = line.split()
            syms.append((int(addr, 16), name, "vmlinux"))
    with open(script_out, errors="replace") as f:
        for line in f:
            p = line.split()
            # PROFILE-SYM ADDRESS t NAME [MODULE]
            if len(p) == 5 and p[0] == "PROFILE-SYM":
                mod = p[4].strip("[]")
                syms.append((int(p[1], 16), "%s [%s]" % (p[3], mod), mod))
    syms.sort()
    return syms


def load_runs(script_out):
    runs = []
    with open(script_out, errors="replace") as f:
        for line in f:
            if line.startswith("BENCH-ERROR "):
                sys.exit("profile-report: " + line.strip())
            if line.startswith("BENCH "):
                _, _, work, target, _, _, js = line.split(" ", 6)
                job = json.loads(js)["jobs"][0]
                ios = job["read"]["total_ios"] + job["write"]["total_ios"]
                runs.append((work, target, ios))
    return runs


def profile(path, syms, addrs):
    funcs, parts = collections.Counter(), collections.Counter()
    with open(path) as f:
        for line in f:
            addr, n = line.split()
            addr, n = int(addr, 16), int(n)
            if addr < KERNEL_START:
                funcs[USER] += n
                parts["user"] += n
                continue
            i = bisect.bisect_right(addrs, addr) - 1
            name, where = (syms[i][1], syms[i][2]) if i >= 0 else ("?", "?")
            funcs[name] += n
            parts["kernel" if where == "vmlinux" else where] += n
    return funcs, parts


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__.strip().splitlines()[2])
    script_out, vmlinux, prefix, outdir = sys.argv[1:]
    syms = load_syms(vmlinux, script_out)
    addrs = [s[0] for s in syms]
    runs = load_runs(script_out)
    if not runs:
        sys.exit("profile-report: no fio run in " + script_out)
    cols, result = [], {"workload": runs[0][0], "targets": {}}
    for k, (work, target, ios) in enumerate(runs):
        path = "%s.%d" % (prefix, 2 * k + 1)
        if not os.path.exists(path) or not ios:
            sys.exit("profile-report: no dump %s for %s, or no I/O" % (path, target))
        funcs, parts = profile(path, syms, addrs)
        per = {f: n / ios for f, n in funcs.items()}
        cols.append((target, per))
        result["targets"][target] = {
            "ios": ios,
            "instructions_per_io": sum(funcs.values()) / ios,
            "parts_per_io": {p: n / ios for p, n in parts.items()},
            "functions_per_io": per,
        }

    lines = ["make profile: %s, guest instructions per I/O (fio's run, "
             "I/O counted by fio)" % result["workload"], ""]
    names = [t for t, _ in cols]
    base = dict(cols).get("raw")
    head = "%-44s" % "" + "".join("%10s" % t for t in names)
    if base is not None:
        head += "".join("%12s" % (t + "-raw") for t in names if t != "raw")
    lines.append(head)

    def row(label, vals):
        s = "%-44s" % label[:44] + "".join("%10.0f" % v for v in vals)
        if base is not None:
            r = vals[names.index("raw")]
            s += "".join("%+12.0f" % (v - r) for t, v in zip(names, vals)
                         if t != "raw")
        return s

    info = result["targets"]
    lines.append(row("all", [info[t]["instructions_per_io"] for t in names]))
    every_part = sorted({p for t in names for p in info[t]["parts_per_io"]})
    for p in every_part:
        lines.append(row("  " + p, [info[t]["parts_per_io"].get(p, 0.0)
                                    for t in names]))
    lines.append("")
    every_func = set()
    for _, per in cols:
        every_func |= set(per)
    if base is not None:
        key = lambda f: -max(abs(per.get(f, 0.0) - base.get(f, 0.0))
                             for _, per in cols)
    else:
        key = lambda f: -max(per.get(f, 0.0) for _, per in cols)
    for f in sorted(every_func, key=key)[:TOP]:
        lines.append(row(f, [per.get(f, 0.0) for _, per in cols]))
    text = "\n".join(lines) + "\n"
    with open(os.path.join(outdir, "profile.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(outdir, "profile.json"), "w") as f:
        json.dump(result, f, indent=1)
    sys.stdout.write(text)
    print("results: %s, %s" % (os.path.join(outdir, "profile.txt"),
                               os.path.join(outdir, "profile.json")))


if __name__ == "__main__":
    main()
