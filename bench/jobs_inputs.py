#!/usr/bin/env python3
"""The inputs of bench/run.sh's --jobs section (issue 21).

    jobs_inputs.py DIR SIZE_MB

Writes DIR/amd64.tar.gz, DIR/arm64.tar.gz and DIR/riscv64.tar.gz: each a
rootfs whose only executable is a minimal ELF header for that machine (so
that `--index` finds three platforms) and SIZE_MB of random data, gzip -1,
so that each download takes SIZE_MB / rate seconds.
"""

import gzip
import io
import os
import struct
import sys
import tarfile

MACHINES = {"amd64": 62, "arm64": 183, "riscv64": 243}


def elf(machine):
    ident = b"\x7fELF\x02\x01\x01" + bytes(9)
    # e_type EXEC, e_machine, e_version; the rest zero up to 64 bytes.
    return ident + struct.pack("<HHI", 2, machine, 1) + bytes(40)


def add(tar, name, data, mode):
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 1_700_000_000
    tar.addfile(info, io.BytesIO(data))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    out, size = sys.argv[1], int(sys.argv[2]) << 20
    os.makedirs(out, exist_ok=True)
    for arch, machine in MACHINES.items():
        path = os.path.join(out, f"{arch}.tar.gz")
        if os.path.exists(path) and os.path.getsize(path) >= size:
            continue
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as t:
            add(t, "bin/sh", elf(machine), 0o755)
            add(t, "usr/share/noise.bin", os.urandom(size), 0o644)
        with open(path + ".part", "wb") as f:
            f.write(gzip.compress(raw.getvalue(), compresslevel=1, mtime=0))
        os.rename(path + ".part", path)


if __name__ == "__main__":
    main()
