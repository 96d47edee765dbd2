#!/usr/bin/env python3
"""Regenerate testdata/rootfs.tar deterministically (fixed mtimes, owners, order).

A tiny rootfs with the things importers get wrong: symlinks, a hardlink, a
path longer than 100 bytes (needs a PAX header), an xattr in a PAX header,
a setuid file and enough pseudo-random data to span several xz blocks.
"""
import io
import random
import tarfile

MTIME = 1700000000  # 2023-11-14T22:13:20Z; the newest entry below is MTIME + 60
rng = random.Random(42)
out = tarfile.open("rootfs.tar", "w", format=tarfile.PAX_FORMAT)


def add(name, kind=tarfile.REGTYPE, data=b"", mode=0o644, mtime=MTIME, link="", pax=None):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = mode
    ti.mtime = mtime
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    ti.linkname = link
    if pax:
        ti.pax_headers = pax
    if kind == tarfile.REGTYPE:
        ti.size = len(data)
        out.addfile(ti, io.BytesIO(data))
    else:
        out.addfile(ti)


for d in ["bin", "etc", "usr", "usr/bin", "usr/lib", "usr/share", "usr/share/doc", "var", "var/empty", "tmp"]:
    add(d + "/", tarfile.DIRTYPE, mode=0o1777 if d == "tmp" else 0o755)
add("etc/os-release", data=b'NAME="ociimport test rootfs"\nID=ociimport-test\nVERSION_ID=1\n')
add("etc/hostname", data=b"testhost\n")
add("bin/hello", data=b"#!/bin/sh\necho hello from the test rootfs\n", mode=0o755)
add("usr/bin/hello", tarfile.LNKTYPE, link="bin/hello")
add("bin/greet", tarfile.SYMTYPE, link="hello", mode=0o777)
add("usr/bin/passwd", data=b"not really setuid\n", mode=0o4755)
add("etc/xattr-file", data=b"has an xattr\n", pax={"SCHILY.xattr.user.comment": "hello xattr"})
long_dir = "usr/share/doc/" + "/".join(["a-rather-long-directory-name-%02d" % i for i in range(4)])
parts = long_dir.split("/")
for i in range(4, len(parts) + 1):
    add("/".join(parts[:i]) + "/", tarfile.DIRTYPE, mode=0o755)
add(long_dir + "/README.with-a-long-name.txt", data=b"long path names need PAX or GNU headers\n")
add("usr/lib/random.bin", data=bytes(rng.getrandbits(8) for _ in range(96 * 1024)))
add("usr/lib/text.txt", data=("".join("line %05d of compressible text\n" % i for i in range(4000))).encode())
add("var/newest", data=b"newest entry\n", mtime=MTIME + 60)
out.close()
