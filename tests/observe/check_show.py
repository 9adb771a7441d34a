#!/usr/bin/env python3
"""Check an observation snapshot through `mpisnap show --json` and
`mpisnap verify`: the verdict, the cycle and each rank's call and needs.

    check_show.py MPISNAP SNAP VERDICT CYCLE RANK=CALL:KIND:PEER:TAG ...

CYCLE is "0,1" (or "-" for none); KIND is recv, send or coll; PEER is a
world rank or -1 (any); TAG is a number or "-" (not checked)."""
import json
import subprocess
import sys


def main():
    tool, snap, verdict, cycle = sys.argv[1:5]
    out = subprocess.run([tool, "show", snap, "--json"], check=True,
                         capture_output=True, text=True).stdout
    d = json.loads(out)
    bad = []
    if d["kind"] != "observation":
        bad.append(f"kind {d['kind']!r}")
    if d["verdict"] != verdict:
        bad.append(f"verdict {d['verdict']!r}, expected {verdict!r}")
    want_cycle = [] if cycle == "-" else [int(x) for x in cycle.split(",")]
    if d["cycle"] != want_cycle:
        bad.append(f"cycle {d['cycle']}, expected {want_cycle}")
    ranks = {r["rank"]: r["observation"] for r in d["ranks"]}
    for spec in sys.argv[5:]:
        rank, rest = spec.split("=")
        call, kind, peer, tag = rest.split(":")
        o = ranks[int(rank)]
        if o["call"] != call:
            bad.append(f"rank {rank}: call {o['call']!r}, expected {call!r}")
        ok = any(n["kind"] == kind and n["peer"] == int(peer) and
                 (tag == "-" or n["tag"] == int(tag)) for n in o["needs"])
        if not ok:
            bad.append(f"rank {rank}: no need {kind} peer {peer} tag {tag} "
                       f"in {o['needs']}")
        if o["waited"] <= 0:
            bad.append(f"rank {rank}: waited {o['waited']}")
    v = subprocess.run([tool, "verify", snap], capture_output=True,
                       text=True)
    if v.returncode != 0:
        bad.append("mpisnap verify failed:\n" + v.stdout + v.stderr)
    for b in bad:
        print("check_show.py: FAILED:", b)
    if not bad:
        print(f"check_show.py: {snap}: {verdict}, cycle {want_cycle}, "
              f"{len(sys.argv) - 5} rank(s) as expected; verify ok")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
