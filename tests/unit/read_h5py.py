#!/usr/bin/env python3
"""Read a snapshot written by test_store with h5py alone, as docs/format.md
describes: checksums, index, regions, messages, comms, counters.
Usage: read_h5py.py SNAPDIR.  Exit 77 (skip) without h5py or numpy."""
import os
import struct
import sys

try:
    import h5py
    import numpy as np
except ImportError:
    sys.exit(77)

M = (1 << 64) - 1
P1, P2, P3 = 0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9
P4, P5 = 0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5


def rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M


def rnd(acc, x):
    return rotl((acc + x * P2) & M, 31) * P1 & M


def xxh64(data, seed=0):
    """XXH64 as in the xxHash specification (docs/format.md)."""
    n, p = len(data), 0
    if n >= 32:
        v = [(seed + P1 + P2) & M, (seed + P2) & M, seed, (seed - P1) & M]
        words = memoryview(data)[: n // 32 * 32].cast("Q")  # little-endian host
        for i in range(0, len(words), 4):
            v = [rnd(v[k], words[i + k]) for k in range(4)]
        h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & M
        for k in range(4):
            h = ((h ^ rnd(0, v[k])) * P1 + P4) & M
        p = n // 32 * 32
    else:
        h = (seed + P5) & M
    h = (h + n) & M
    while p + 8 <= n:
        (k1,) = struct.unpack_from("<Q", data, p)
        h = (rotl(h ^ rnd(0, k1), 27) * P1 + P4) & M
        p += 8
    if p + 4 <= n:
        (k1,) = struct.unpack_from("<I", data, p)
        h = (rotl(h ^ (k1 * P1 & M), 23) * P2 + P3) & M
        p += 4
    while p < n:
        h = rotl(h ^ (data[p] * P5 & M), 11) * P1 & M
        p += 1
    h ^= h >> 33
    h = h * P2 & M
    h ^= h >> 29
    h = h * P3 & M
    h ^= h >> 32
    return h


def check(cond, what):
    if not cond:
        print("read_h5py: FAILED:", what)
        sys.exit(1)


def main():
    snap = sys.argv[1]
    assert xxh64(b"abc") == 0x44BC2CF5AD770999

    # The example of docs/format.md, unchanged but for the checks.
    with h5py.File(os.path.join(snap, "index.h5"), "r") as ix:
        nranks = int(ix.attrs["nranks"])
        sums = ix["checksums"][:]
        check(ix.attrs["format_version"] == 1, "format_version")
        check(ix.attrs["app"] == b"test_store", "app")
        check(nranks == 2 and int(ix.attrs["snap_id"]) == 7, "nranks, id")
        # The external links make the index a view of every rank.
        u1 = ix["ranks/1/state/u"][:]
        check(u1[3] == 101.5, "u via external link: %r" % u1[3])

    for r in range(nranks):
        path = os.path.join(snap, "rank-%06d.h5" % r)
        with open(path, "rb") as f:
            check(xxh64(f.read()) == int(sums[r]), "checksum of " + path)
        with h5py.File(path, "r") as f:
            check(int(f.attrs["rank"]) == r, "rank attribute")
            u = f["state/u"]
            check(u.attrs["etype"] == b"double", "etype")
            check(np.array_equal(u[:], 0.5 * np.arange(1000) + 100 * r), "u")
            check(f["state/n"][5] == -5000 + 100 * r, "n")
            check(f["state/blob"].attrs["etype"] == b"bytes", "bytes etype")
            check(f["state/blob"][:].tobytes()[:3]
                  == bytes([(100 * r) & 255, (7 + 100 * r) & 255,
                            (14 + 100 * r) & 255]), "blob")
            check(f["state/empty"].shape == (0,), "empty region")
            env = f["channels/envelopes"][:]
            pay = f["channels/payload"][:]
            m0 = env[0]
            off, nb = int(m0["offset"]), int(m0["nbytes"])
            data = pay[off:off + nb].tobytes()
            check(data == b"hello, in flight\0", "message 0: %r" % data)
            check(env[2]["tag"] == -5 and env[2]["pos"] == 12, "envelope 2")
            tab = f["comms/table"][:]
            world = f["comms/world"][:]
            c = tab[1]
            off, size = int(c["offset"]), int(c["size"])
            check(list(world[off:off + size]) == [3, 1], "comm world")
            check(c["color"] == 2, "color")
            cnt = f["counters"][:]
            check(cnt[1]["count"] == 1 << 40 and cnt[1]["dir"] == 1,
                  "counters")
    print("read_h5py: ok")


if __name__ == "__main__":
    main()
