#!/usr/bin/env python3
"""Tests of the `mpisnap` command-line tool.

    cli_test.py MPISNAP WORK CASE

WORK holds heat2d/ (4 ranks, --inflight: 8 messages in flight), bank/
(two snapshots), synth/ (3 ranks with a trace) and synth/observe/ (an
observation: a 2-rank deadlock, mksnap --observe), written by the fixture
tests.  Exit 0 pass, 1 fail, 77 skipped (with the reason on stdout)."""
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

TOOL, WORK, CASE = sys.argv[1], sys.argv[2], sys.argv[3]
HEAT = os.path.join(WORK, "heat2d")
BANK = os.path.join(WORK, "bank")
SYNTH = os.path.join(WORK, "synth")
OBS = os.path.join(SYNTH, "observe")
SVG = "{http://www.w3.org/2000/svg}"


def run(*args, env=None):
    e = dict(os.environ)
    e.pop("MPISNAP_DIR", None)
    e.update(env or {})
    p = subprocess.run([TOOL] + [str(a) for a in args], capture_output=True,
                       text=True, env=e, timeout=30)
    print("$ mpisnap", " ".join(map(str, args)), "->", p.returncode)
    print(p.stdout[-3000:], end="")
    print(p.stderr[-3000:], end="", file=sys.stderr)
    return p


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)


def skip(why):
    print("SKIPPED:", why)
    sys.exit(77)


def expect(p, code, *needles, stream="stdout"):
    check(p.returncode == code, "exit %d, expected %d" % (p.returncode, code))
    text = getattr(p, stream)
    for n in needles:
        check(n in text, "%r not in %s" % (n, stream))


def expect_error(p, *needles):
    """Non-zero, one line on stderr naming the problem, no HDF5 stack."""
    check(p.returncode != 0, "exit 0 on bad input")
    lines = p.stderr.strip().splitlines()
    check(len(lines) == 1, "expected one error line, got %d" % len(lines))
    check("HDF5-DIAG" not in p.stderr and "#000" not in p.stderr,
          "HDF5 error stack printed")
    for n in needles:
        check(n in lines[0], "%r not in the error line" % n)


def snapdir(root, i=None):
    names = sorted(d for d in os.listdir(root)
                   if d.startswith("snap-") and "." not in d)
    return os.path.join(root, names[-1] if i is None else names[i])


def copy(src, name):
    """A private copy of snapshot directory src under WORK/CASE/."""
    dst_root = os.path.join(WORK, "case-" + name)
    shutil.rmtree(dst_root, ignore_errors=True)
    os.makedirs(dst_root)
    dst = os.path.join(dst_root, os.path.basename(src))
    shutil.copytree(src, dst)
    return dst


def h5py_or_skip():
    try:
        import h5py  # noqa: F401
        return h5py
    except ImportError:
        skip("h5py is not available to %s" % sys.executable)


M = (1 << 64) - 1
P1, P2, P3 = 0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9
P4, P5 = 0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5


def rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M


def rnd(acc, x):
    return rotl((acc + x * P2) & M, 31) * P1 & M


def xxh64(data):
    """docs/format.md, Checksums."""
    n, p = len(data), 0
    if n >= 32:
        v = [(P1 + P2) & M, P2, 0, (-P1) & M]
        for p in range(0, n // 32 * 32, 32):
            w = struct.unpack_from("<4Q", data, p)
            v = [rnd(v[k], w[k]) for k in range(4)]
        h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12)
             + rotl(v[3], 18)) & M
        for k in range(4):
            h = ((h ^ rnd(0, v[k])) * P1 + P4) & M
        p = n // 32 * 32
    else:
        h = P5
    h = (h + n) & M
    while p + 8 <= n:
        h = (rotl(h ^ rnd(0, struct.unpack_from("<Q", data, p)[0]), 27) * P1
             + P4) & M
        p += 8
    if p + 4 <= n:
        h = (rotl(h ^ (struct.unpack_from("<I", data, p)[0] * P1 & M), 23)
             * P2 + P3) & M
        p += 4
    for b in data[p:]:
        h = rotl(h ^ (b * P5 & M), 11) * P1 & M
    h = (h ^ (h >> 33)) * P2 & M
    h = (h ^ (h >> 29)) * P3 & M
    return h ^ (h >> 32)


# ------------------------------------------------------------------ cases

def t_usage():
    expect(run(), 2, "usage: mpisnap VERB", stream="stderr")
    expect_error(run("bogus"), "unknown command 'bogus'")
    expect(run("show"), 2, "usage: mpisnap show SNAP", stream="stderr")
    expect(run("--version"), 0, "mpisnap 0.", "snapshot format 1")


def t_help():
    for verb in ("list", "show", "verify", "diff", "draw", "halt"):
        p = run(verb, "--help")
        expect(p, 0, "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS",
               "EXAMPLES", "mpisnap " + verb)
    expect(run("--help"), 0, "verify SNAP")


def t_halt():
    d = os.path.join(WORK, "case-halt")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    expect(run("halt", d), 0, "stops after its next scheduled snapshot")
    check(open(os.path.join(d, "halt")).read() == "halt\n", "halt content")
    expect(run("halt", d, "--now"), 0, "takes a snapshot at its next")
    check(open(os.path.join(d, "halt")).read() == "now\n", "now content")
    expect(run("halt", env={"MPISNAP_DIR": d}), 0, d + "/halt")
    expect_error(run("halt", os.path.join(d, "nope")), "nope",
                 "No such file")
    # A symlink planted as the temporary file is never written through.
    victim = os.path.join(WORK, "case-halt-victim")
    with open(victim, "w") as f:
        f.write("victim\n")
    os.symlink(victim, os.path.join(d, ".halt.tmp"))
    expect(run("halt", d, "--now"), 0, "takes a snapshot at its next")
    check(open(victim).read() == "victim\n", "victim behind .halt.tmp intact")
    check(open(os.path.join(d, "halt")).read() == "now\n", "now content")
    check(not os.path.lexists(os.path.join(d, ".halt.tmp")), ".halt.tmp gone")


def t_list():
    p = run("list", HEAT)
    expect(p, 0, "heat2d")
    rows = [l for l in p.stdout.splitlines() if l.startswith("*")]
    check(len(rows) == 1 and rows[0].split()[-1] == "8", "8 in flight")
    d = json.loads(run("list", "--json", env={"MPISNAP_DIR": BANK}).stdout)
    check(len(d["snapshots"]) == 2, "bank: 2 snapshots")
    check(all(s["status"] == "ok" and s["nranks"] == 4
              for s in d["snapshots"]), "bank snapshots ok, 4 ranks")
    check(d["snapshots"][0]["latest"], "newest first")
    expect_error(run("list", os.path.join(WORK, "nowhere")), "nowhere")


def t_show():
    p = run("show", HEAT)
    expect(p, 0, "4 ranks", "8 messages in flight", "total: 8 messages")
    for r in range(4):
        check("in flight to rank %d: 2 messages" % r in p.stdout,
              "rank %d: 2 in flight" % r)
    check(p.stdout.count("u                        double") == 4, "u x4")
    p = run("show", os.path.basename(snapdir(HEAT)).split("-")[1],
            "--dir", HEAT, "--rank", "1", "--region", "step", "--dump")
    expect(p, 0, "rank 1:", "step", "0: 30")
    expect(run("show", HEAT + ":latest"), 0, "8 messages in flight")
    expect(run("show", "latest", env={"MPISNAP_DIR": HEAT}), 0, "heat2d")
    expect_error(run("show", HEAT, "--region", "nope"), "no region 'nope'")
    expect_error(run("show", HEAT + ":99"), "snap-000099", "no such")


def t_show_json():
    d = json.loads(run("show", HEAT, "--json").stdout)
    check(d["nmsgs"] == 8 and len(d["ranks"]) == 4, "8 msgs, 4 ranks")
    check(sum(r["nmsgs"] for r in d["ranks"]) == 8, "per rank sums to 8")
    for r in d["ranks"]:
        check(sum(c["count"] for c in r["in_flight"]) == r["nmsgs"], "chans")
    d = json.loads(run("show", HEAT, "--json", "--rank", "2", "--region",
                       "u", "--dump").stdout)
    u = d["ranks"][0]["regions"][0]
    check(u["name"] == "u" and len(u["values"]) == u["shape"][0], "values")


def t_verify():
    p = run("verify", HEAT)
    expect(p, 0, "channels: ", "(8 messages in flight)", ": OK")
    check(p.stdout.count("ok    ") == 5, "index and 4 rank files ok")
    check("/index.h5: checksum " in p.stdout, "index verified")
    d = json.loads(run("verify", HEAT, "--json").stdout)
    check(d["ok"] and d["failures"] == [] and d["messages_in_flight"] == 8,
          "json ok")
    check(d["index_verified"], "json: index verified")
    dst = copy(snapdir(HEAT), "verify-old")
    os.remove(os.path.join(dst, "index.h5.xxh64"))
    expect(run("verify", dst), 0, "index.h5: not verified", ": OK")
    check(d["channels_checked"] >= 8, "channels checked")


def t_verify_bank():
    for i in (0, 1):
        expect(run("verify", snapdir(BANK, i)), 0, ": OK")


def t_verify_synth():
    expect(run("verify", SYNTH), 0, "(1 messages in flight)", ": OK")


def region_value(snap, name):
    d = json.loads(run("show", snap, "--rank", "0", "--region", name,
                       "--dump", "--json").stdout)
    return d["ranks"][0]["regions"][0]["values"][0]


def t_diff():
    a, b = snapdir(BANK, 0), snapdir(BANK, 1)
    # The rounds the two snapshots were taken at depend on the safe-point
    # agreement (a missed point widens the margin): read them, then check
    # that diff reports exactly that difference.
    gap = abs(region_value(b, "round") - region_value(a, "round"))
    check(gap > 0, "two snapshots at different rounds")
    p = run("diff", a, b)
    expect(p, 1, "region round: int64[1]: 1 of 1 elements differ",
           "max |a-b| = %d" % gap)
    expect(run("diff", a, a), 0, "no differences")
    d = json.loads(run("diff", a, b, "--json").stdout)
    check(not d["same"] and any(x["region"] == "round"
                                and x["max_abs_diff"] == gap
                                for x in d["differences"]), "json diff")
    expect_error(run("diff", a, os.path.join(WORK, "nowhere")), "nowhere")


def svg_of(path):
    root = ET.parse(path).getroot()
    check(root.tag == SVG + "svg", "root is <svg>")
    lines = root.findall(".//" + SVG + "line")
    cls = lambda c: [e for e in lines if e.get("class") == c]
    text = " ".join(t.text or "" for t in root.iter(SVG + "text"))
    return cls, text


def t_draw():
    out = os.path.join(WORK, "heat2d.svg")
    expect(run("draw", HEAT, "-o", out), 0, "4 lanes", "schematic")
    cls, text = svg_of(out)
    check(len(cls("lane")) == 4, "one lane per rank")
    check(len(cls("inflight")) == 8, "8 in-flight arrows")
    check("schematic" in text and "MPISNAP_TRACE=1" in text, "says so")


def t_draw_heat2d_trace():
    # The library's own trace (MPISNAP_TRACE=1): every message in flight is
    # drawn across the cut, and the markers are there.
    snap = os.path.join(WORK, "heat2d_trace")
    out = os.path.join(WORK, "heat2d_trace.svg")
    expect(run("draw", snap, "-o", out), 0, "4 lanes", "from the trace")
    cls, text = svg_of(out)
    check(len(cls("lane")) == 4, "one lane per rank")
    check(len(cls("inflight")) == 8, "8 in-flight arrows")
    check(len(cls("marker")) >= 4, "markers drawn")
    check(len(cls("msg")) > 8, "messages around the cut")
    check("schematic" not in text, "not schematic")


def t_draw_trace():
    out = os.path.join(WORK, "synth.svg")
    expect(run("draw", SYNTH, "-o", out), 0, "3 lanes", "from the trace")
    cls, text = svg_of(out)
    check(len(cls("lane")) == 3, "3 lanes")
    check(len(cls("inflight")) == 1, "one message in flight")
    check(len(cls("msg")) == 3, "3 other messages")
    check(len(cls("marker")) == 6, "6 markers")
    check("schematic" not in text, "not schematic")
    ET.parse(out).getroot().find(".//" + SVG + "polyline")


def t_partial():
    dst = copy(snapdir(HEAT), "partial")
    part = dst + ".partial"
    os.rename(dst, part)
    os.remove(os.path.join(part, "index.h5"))
    root = os.path.dirname(part)
    expect(run("list", root), 0, "partial", "4 rank file(s)")
    expect(run("show", part), 0, "PARTIAL", "8 messages in flight")
    expect(run("verify", part), 1, "not committed")
    expect_error(run("show", root), "no committed snapshot")


def t_not_snapshot():
    d = os.path.join(WORK, "case-notsnap")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "snap-000001"))
    open(os.path.join(d, "snap-000001", "index.h5"), "w").write("hello\n")
    for verb in ("show", "verify", "draw"):
        expect_error(run(verb, os.path.join(d, "snap-000001")),
                     "snap-000001/index.h5")
    expect(run("list", d), 0, "damaged")
    expect_error(run("show", "/etc/passwd"), "/etc/passwd",
                 "not a snapshot")
    os.makedirs(os.path.join(d, "snap-000002"))
    expect_error(run("show", os.path.join(d, "snap-000002")),
                 "index.h5", "missing")


def flip_byte(path):
    with open(path, "r+b") as f:
        size = os.fstat(f.fileno()).st_size
        f.seek(size // 2)
        b = f.read(1)
        f.seek(size // 2)
        f.write(bytes([b[0] ^ 0xFF]))


def damaged(mode):
    dst = copy(snapdir(HEAT), mode)
    if mode == "flip":
        victim = os.path.join(dst, "rank-000001.h5")
        flip_byte(victim)
        problem = "checksum mismatch"
    elif mode == "truncate":
        victim = os.path.join(dst, "rank-000002.h5")
        os.truncate(victim, os.path.getsize(victim) // 2)
        problem = "checksum mismatch"
    else:
        victim = os.path.join(dst, "rank-000003.h5")
        os.remove(victim)
        problem = "missing"
    p = run("verify", dst)
    expect(p, 1, "FAIL  " + victim + ": " + problem, "FAILED")
    d = json.loads(run("verify", dst, "--json").stdout)
    check(not d["ok"] and victim in d["failures"][0]["message"], "json")
    expect_error(run("show", dst), victim, problem)
    expect_error(run("draw", dst, "-o", os.path.join(WORK, "x.svg")), victim)
    expect(run("list", os.path.dirname(dst)), 0,
           "damaged" if mode != "flip" else " ok ")


def t_flip():
    damaged("flip")


def t_truncate():
    damaged("truncate")


def t_missing_rank():
    damaged("missing")


def t_choice():
    """A root names the snapshot a restart would use (issue 11, item 12):
    the newest snap-N with an index whose files all match their checksums,
    by the library's own rule; not a newer snap-N without an index."""
    root = os.path.join(WORK, "case-choice")
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(BANK, root)
    older, newer = snapdir(root, 0), snapdir(root, 1)
    id_of = lambda d: int(os.path.basename(d).split("-")[1])
    noindex = os.path.join(root, "snap-%06d" % (id_of(newer) + 1))
    shutil.copytree(newer, noindex)
    os.remove(os.path.join(noindex, "index.h5"))
    for how in ([root], [root + ":latest"], ["latest", "--dir", root]):
        expect(run("verify", *how), 0,
               "verifying snapshot %d of bank" % id_of(newer), ": OK")
    expect(run("show", root), 0, "snapshot %d" % id_of(newer))
    # The newest committed one damaged: a restart falls back, so does the
    # tool, and says why.
    flip_byte(os.path.join(newer, "rank-000002.h5"))
    p = run("verify", root)
    expect(p, 0, "verifying snapshot %d of bank" % id_of(older), ": OK")
    check("snapshot %d is damaged" % id_of(newer) in p.stderr and
          "rank-000002.h5: checksum mismatch" in p.stderr,
          "the fallback is explained")
    # Nothing readable: the newest committed one, and its failure.
    flip_byte(os.path.join(older, "rank-000001.h5"))
    expect(run("verify", root), 1, "snapshot %d" % id_of(newer),
           "checksum mismatch")


def fix_index_sum(dst):
    """After a hand edit of index.h5: index.h5.xxh64 to match it."""
    data = open(os.path.join(dst, "index.h5"), "rb").read()
    with open(os.path.join(dst, "index.h5.xxh64"), "w") as f:
        f.write("%016x  index.h5\n" % xxh64(data))


def t_version():
    h5py = h5py_or_skip()
    dst = copy(snapdir(HEAT), "version")
    with h5py.File(os.path.join(dst, "index.h5"), "r+") as f:
        f.attrs.modify("format_version", 99)
    fix_index_sum(dst)
    for verb in ("show", "verify"):
        expect_error(run(verb, dst), "index.h5", "format version 99")


def fix_index(h5py, dst, rank):
    """After a hand edit of rank's file: its checksum and the total size."""
    path = os.path.join(dst, "rank-%06d.h5" % rank)
    with h5py.File(os.path.join(dst, "index.h5"), "r+") as f:
        sums = f["checksums"][:]
        sums[rank] = xxh64(open(path, "rb").read())
        f["checksums"][:] = sums
        total = sum(os.path.getsize(os.path.join(dst, "rank-%06d.h5" % r))
                    for r in range(len(sums)))
        f.attrs.modify("bytes", total)
    fix_index_sum(dst)


def t_index_damaged():
    """A byte of index.h5 that HDF5 would read without noticing (inside the
    app name): index.h5.xxh64 catches it, in every verb."""
    dst = copy(snapdir(HEAT), "index-damaged")
    index = os.path.join(dst, "index.h5")
    data = bytearray(open(index, "rb").read())
    i = data.find(b"heat2d")
    check(i >= 0, "app name in index.h5")
    data[i] ^= 0x20
    open(index, "wb").write(data)
    for verb in ("show", "verify", "diff"):
        args = (dst, dst) if verb == "diff" else (dst,)
        expect_error(run(verb, *args), index, "checksum mismatch")
    expect(run("list", os.path.dirname(dst)), 0, "damaged",
           "index.h5: checksum mismatch")


def t_special_files():
    """A FIFO or a symlink to /dev/zero where a file should be is refused at
    once (run() times out after 30 s), never waited for or read forever."""
    dst = copy(snapdir(HEAT), "special")
    index = os.path.join(dst, "index.h5")
    rank = os.path.join(dst, "rank-000001.h5")
    os.remove(index)
    os.mkfifo(index)
    expect(run("list", os.path.dirname(dst)), 0, "damaged",
           "not a regular file")
    expect_error(run("show", dst), index, "not a regular file")
    os.remove(index)
    os.symlink("/dev/zero", index)
    expect_error(run("verify", dst), index, "not a regular file")
    os.remove(index)
    shutil.copy(os.path.join(snapdir(HEAT), "index.h5"), index)
    # 1 TiB (sparse): refused by its size, not checksummed for minutes.
    os.truncate(rank, 1 << 40)
    for verb in ("verify", "show"):
        p = run(verb, dst)
        check(p.returncode in (1, 2), "%s refuses it" % verb)
        check("more than all rank files" in p.stdout + p.stderr,
              "%s names the size" % verb)
    os.remove(rank)
    shutil.copy(os.path.join(snapdir(HEAT), "rank-000001.h5"), rank)
    part = dst + ".partial"
    os.rename(dst, part)
    rank = os.path.join(part, "rank-000001.h5")
    os.remove(rank)
    os.mkfifo(rank)
    expect_error(run("show", part), rank, "not a regular file")
    p = run("verify", part)
    expect(p, 1, "FAIL  " + rank + ": not a regular file")
    os.remove(rank)
    os.symlink("/dev/zero", rank)
    expect(run("verify", part), 1, "FAIL  " + rank + ": not a regular file")


def t_counters():
    """Hand-edit a sent count; fix the checksum: only the certificate
    can tell."""
    h5py = h5py_or_skip()
    dst = copy(snapdir(BANK), "counters")
    path = os.path.join(dst, "rank-000000.h5")
    with h5py.File(path, "r+") as f:
        c = f["counters"][:]
        i = [k for k in range(len(c)) if c[k]["dir"] == 0][0]
        peer, tag, n = int(c[i]["peer"]), int(c[i]["tag"]), int(c[i]["count"])
        c[i]["count"] = n + 3
        f["counters"][:] = c
    fix_index(h5py, dst, 0)
    p = run("verify", dst)
    expect(p, 1, "FAIL  channel to rank %d on communicator" % peer,
           "from source 0 (world 0) tag %d: sent %d before" % (tag, n + 3),
           "FAILED, 1 problem")
    d = json.loads(run("verify", dst, "--json").stdout)
    f = d["failures"][0]
    check(f["kind"] == "channel" and f["sent"] == n + 3 and
          f["received"] + f["in_flight"] == n and f["tag"] == tag, "json")


def t_permission():
    if os.geteuid() == 0:
        skip("running as root: file permissions are not enforced, so an "
             "unreadable directory cannot be made")
    dst = copy(snapdir(HEAT), "perm")
    os.chmod(dst, 0)
    try:
        expect_error(run("show", dst), dst, "Permission denied")
        expect_error(run("list", dst), dst, "Permission denied")
    finally:
        os.chmod(dst, 0o755)


# ------------------------------------------------- observation snapshots

def t_observe_list():
    p = run("list", SYNTH)
    expect(p, 0, "snapshots in " + SYNTH + "\n",
           "observation snapshots in " + OBS + "\n", "VERDICT")
    rows = [l for l in p.stdout.splitlines() if l.startswith("*")]
    check(len(rows) == 2, "the checkpoint, then the observation")
    check(rows[0].split()[-1] == "1", "checkpoint row: 1 in flight")
    check(rows[1].split()[1:3] == ["1", "ok"] and
          rows[1].split()[-1] == "deadlock", "observation row, its verdict")
    check(p.stdout.index("snapshots in " + SYNTH) <
          p.stdout.index("observation snapshots"), "checkpoints first")
    p = run("list", OBS)  # just a root
    expect(p, 0, "observation snapshots in " + OBS, "deadlock")
    check(p.stdout.count("snapshots in") == 1, "one section")
    d = json.loads(run("list", "--json", SYNTH).stdout)
    c = d["snapshots"][0]
    check(c["kind"] == "checkpoint" and c["verdict"] is None, "checkpoint")
    o = d["observations"]
    check(o["dir"] == OBS and len(o["snapshots"]) == 1, "observations")
    e = o["snapshots"][0]
    check(e["kind"] == "observation" and e["verdict"] == "deadlock" and
          e["latest"] and e["nranks"] == 2 and e["status"] == "ok", "entry")
    d = json.loads(run("list", "--json", OBS).stdout)
    check(d["snapshots"][0]["verdict"] == "deadlock", "list --json ROOT")
    check(json.loads(run("list", "--json", HEAT).stdout)["observations"]
          is None, "no observe/: null")


def t_observe_show():
    p = run("show", OBS)
    expect(p, 0, "observation 1 of mksnap: " + snapdir(OBS),
           "kind: observation", "2 messages in flight (1 payload recorded)",
           "verdict: deadlock",
           "  | deadlock: ranks 0 and 1 wait for each other forever\n"
           "  |   rank 0 in MPI_Recv for 10.5 s: from rank 1, tag 5\n",
           "cycle: 0 -> 1 -> 0\n",
           "rank 0: in MPI_Recv for 10.500 s",
           "rank 1: in MPI_Recv for 9.250 s",
           "waits for: receive from rank 1, tag 5, on world",
           "waits for: receive from rank 0, tag 5, on world",
           "in flight to rank 0: 2 messages", "in flight to rank 1: 0 messages",
           "payloads recorded: 1 message, 18 bytes",
           "total: 2 messages in flight, 1 payload recorded")
    check(re.search(r"balance +sum +1000 +complete\n", p.stdout), "balance")
    check(re.search(r"pending +max +2 +incomplete: payloads missing",
                    p.stdout), "pending: incomplete")
    # per stream: world, source 1 (world 1), tag 9: 2 in flight, 1 payload
    check(re.search(r"world +1 +1 +9 +2 +1\n", p.stdout), "in-flight row")
    expect(run("show", OBS + ":1", "--rank", "1"), 0, "rank 1: in MPI_Recv")
    expect(run("show", "latest", "--dir", OBS), 0, "verdict: deadlock")
    p = run("show", SYNTH)
    expect(p, 0, "kind: checkpoint", "safe point 42")
    check("verdict" not in p.stdout, "a checkpoint has no verdict")
    # A root with only observations says where they are.
    d = os.path.join(WORK, "case-obsonly")
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(OBS, os.path.join(d, "observe"))
    expect_error(run("show", d), "no committed snapshot here",
                 d + "/observe")


def t_observe_show_json():
    d = json.loads(run("show", OBS, "--json").stdout)
    check(d["kind"] == "observation" and d["verdict"] == "deadlock", "kind")
    check(d["cycle"] == [0, 1] and d["point"] == 0, "cycle, point 0")
    check(d["in_flight"] == 2 and d["nmsgs"] == 1, "2 in flight, 1 payload")
    check(d["report"].startswith("deadlock: ranks 0 and 1") and
          d["report"].count("\n") == 3, "report as stored")
    props = {q["name"]: q for q in d["properties"]}
    check(props["balance"] == {"name": "balance", "op": "sum",
                               "value": 1000, "complete": True}, "balance")
    check(props["pending"]["op"] == "max" and props["pending"]["value"] == 2
          and props["pending"]["complete"] is False, "pending")
    for r, peer, waited in ((0, 1, 10.5), (1, 0, 9.25)):
        o = d["ranks"][r]["observation"]
        check(o["call"] == "MPI_Recv" and o["mode"] == "all" and
              o["waited"] == waited, "rank %d call" % r)
        check(len(o["needs"]) == 1, "one need")
        n = o["needs"][0]
        check(n["kind"] == "recv" and n["peer"] == peer and n["tag"] == 5 and
              n["comm_id"] == 1 and n["comm"] == "world", "rank %d need" % r)
    o = d["ranks"][0]["observation"]
    check(o["in_flight_total"] == 2 and o["in_flight"] == [
        {"comm_id": 1, "comm": "world", "source": 1, "source_world": 1,
         "tag": 9, "count": 2, "payloads": 1}], "in flight to rank 0")
    check(d["ranks"][1]["observation"]["in_flight"] == [], "none to 1")
    d = json.loads(run("show", SYNTH, "--json").stdout)
    check(d["kind"] == "checkpoint" and "verdict" not in d and
          all("observation" not in r for r in d["ranks"]), "checkpoint")


def t_observe_draw():
    out = os.path.join(WORK, "observe.svg")
    expect(run("draw", OBS, "-o", out), 0, "wait-for graph of 2 ranks",
           "2 in the deadlock cycle", "verdict deadlock")
    root = ET.parse(out).getroot()
    cls, text = svg_of(out)
    nodes = {int(c.get("data-rank")): (float(c.get("cx")), float(c.get("cy")))
             for c in root.iter(SVG + "circle") if c.get("class") == "rank"}
    check(sorted(nodes) == [0, 1], "one node per rank")
    cyc = cls("cycle")
    check(len(cyc) == 2, "two red cycle arrows")
    check(not cls("lane") and not cls("wait") and not cls("any"),
          "nothing but the cycle")
    for e in cyc:
        check(e.get("marker-end") == "url(#head-red)", "red arrow head")
        m = re.match(r"rank (\d) waits for rank (\d): tag 5",
                     e.find(SVG + "title").text)
        check(m, "arrow title names the wait")
        a, b = int(m.group(1)), int(m.group(2))
        x1, y1 = float(e.get("x1")), float(e.get("y1"))
        x2, y2 = float(e.get("x2")), float(e.get("y2"))
        d = lambda x, y, r: math.hypot(x - nodes[r][0], y - nodes[r][1])
        check(d(x1, y1, a) < d(x1, y1, b) and d(x2, y2, b) < d(x2, y2, a),
              "arrow %d -> %d points from %d to %d" % (a, b, a, b))
    check("MPI_Recv, 10.50 s" in text and "MPI_Recv, 9.25 s" in text and
          "2 in flight to it" in text, "node labels")
    check("deadlock" in text and "tag 5" in text, "verdict, edge labels")


def t_observe_verify():
    p = run("verify", OBS)
    expect(p, 0, "verifying observation 1 of mksnap",
           "channels: 2 checked (2 messages in flight, 1 payload recorded)",
           "collective counts: not compared", ": OK")
    check(p.stdout.count("ok    ") == 3, "index and 2 rank files ok")
    d = json.loads(run("verify", OBS, "--json").stdout)
    check(d["ok"] and d["kind"] == "observation" and
          d["messages_in_flight"] == 2 and d["payloads_recorded"] == 1 and
          d["channels_checked"] == 2, "json")
    dst = copy(snapdir(OBS), "observe-flip")
    victim = os.path.join(dst, "rank-000000.h5")
    flip_byte(victim)
    expect(run("verify", dst), 1, "FAIL  " + victim + ": checksum mismatch",
           "FAILED")
    expect_error(run("show", dst), victim, "checksum mismatch")
    expect_error(run("draw", dst, "-o", os.path.join(WORK, "x.svg")), victim)


def t_observe_counters():
    """One more message in flight than the sender sent: the
    certificate of an observation counts /observe/inflight."""
    h5py = h5py_or_skip()
    dst = copy(snapdir(OBS), "observe-counters")
    with h5py.File(os.path.join(dst, "rank-000000.h5"), "r+") as f:
        c = f["observe/inflight"][:]
        c[0]["count"] = 3
        f["observe/inflight"][:] = c
    fix_index(h5py, dst, 0)
    p = run("verify", dst)
    expect(p, 1, "FAIL  channel to rank 0 on communicator world from source "
           "1 (world 1) tag 9: sent 3 before the sender's cut, but received "
           "1 + in flight 3 = 4", "FAILED, 1 problem")
    f = json.loads(run("verify", dst, "--json").stdout)["failures"][0]
    check(f["sent"] == 3 and f["received"] == 1 and f["in_flight"] == 3,
          "json")


globals()["t_" + CASE]()
print("PASS:", CASE)
