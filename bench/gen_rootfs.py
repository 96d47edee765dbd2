#!/usr/bin/env python3
"""Write a deterministic synthetic rootfs tarball for bench/run.sh.

Used when mmdebstrap is not available (or BENCH_SOURCE=synthetic). The mix
imitates a Debian rootfs with a toolchain:

  ~60 %  small text files (source, docs, config): Zipf-distributed words,
         compressing about 3-4x like real text
  ~30 %  ELF executables copied from /usr/bin (cycled if there are too few)
  ~10 %  incompressible data (stands in for .gz/.png/.pyc-ish content)

plus directories and symlinks. Every entry has fixed metadata (root:root,
mtime 2023-11-14T22:13:20Z, 0644/0755), entries are written in a fixed
order and all pseudo-random content comes from a seeded PRNG, so the same
size and the same /usr/bin give the same bytes.

usage: gen_rootfs.py OUTPUT.tar SIZE_MB
"""

import io
import os
import random
import sys
import tarfile

MTIME = 1_700_000_000
SEED = 20231114

# Size shares of the three kinds of content.
SHARE_TEXT, SHARE_ELF, SHARE_RANDOM = 0.60, 0.30, 0.10

WORDS = (
    "the of and to in is for on that with as by this be are from it or an at "
    "if else return int char void static const struct unsigned long size_t "
    "include define ifdef endif def self import class None True False print "
    "function var let value key name type data file path error buffer length "
    "config option default enable disable install package version license "
    "copyright software without warranty merchantability fitness purpose "
    "usr lib share bin etc local python debian gnu linux x86_64 amd64 "
    "0 1 2 3 4 8 16 32 64 128 255 256 1024 0x0 0xff NULL { } ( ) ; , = == "
    "!= -> :: # // /* */ <= >= + - * / % & | ^ ~ << >> [ ] : . \" '"
).split()


def text_blob(rng, size, vocab, weights):
    """Pseudo-source text of exactly `size` bytes."""
    out = []
    n = 0
    while n < size:
        words = rng.choices(vocab, weights=weights, k=max(16, (size - n) // 5))
        chunk = " ".join(words)
        out.append(chunk)
        n += len(chunk)
    return "".join(out).encode()[:size]


def elf_files():
    """Regular ELF files in /usr/bin, sorted by name, as (name, bytes)."""
    found = []
    for name in sorted(os.listdir("/usr/bin")):
        path = os.path.join("/usr/bin", name)
        if os.path.islink(path) or not os.path.isfile(path):
            continue
        try:
            with open(path, "rb") as f:
                if f.read(4) != b"\x7fELF":
                    continue
                size = os.path.getsize(path)
                if 0 < size <= 64 << 20:
                    found.append((name, path))
        except OSError:
            continue
    return found


class Writer:
    def __init__(self, tar):
        self.tar = tar
        self.dirs = set()

    def _info(self, name, kind, mode):
        ti = tarfile.TarInfo(name)
        ti.type = kind
        ti.mode = mode
        ti.mtime = MTIME
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = "root"
        return ti

    def mkdir(self, path):
        parts = path.split("/")
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d and d not in self.dirs:
                self.dirs.add(d)
                self.tar.addfile(self._info(d + "/", tarfile.DIRTYPE, 0o755))

    def file(self, path, data, mode=0o644):
        self.mkdir(os.path.dirname(path))
        ti = self._info(path, tarfile.REGTYPE, mode)
        ti.size = len(data)
        self.tar.addfile(ti, io.BytesIO(data))

    def symlink(self, path, target):
        self.mkdir(os.path.dirname(path))
        ti = self._info(path, tarfile.SYMTYPE, 0o777)
        ti.linkname = target
        self.tar.addfile(ti)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    out, size_mb = sys.argv[1], int(sys.argv[2])
    total = size_mb << 20
    rng = random.Random(SEED)
    # Zipf-like weights: a few very common words, a long tail.
    vocab = WORDS + ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz_", k=rng.randint(3, 12)))
                     for _ in range(1500)]
    vocab += ["\n", "\n    ", "\n\t"]
    weights = [1.0 / (i + 1) ** 1.2 for i in range(len(vocab) - 3)] + [2.0, 1.0, 0.5]

    elves = elf_files()
    budget = {
        "text": int(total * SHARE_TEXT),
        "elf": int(total * SHARE_ELF) if elves else 0,
        "random": int(total * SHARE_RANDOM),
    }
    if not elves:  # no /usr/bin ELF files: give their share to text
        budget["text"] += int(total * SHARE_ELF)

    with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as tar:
        w = Writer(tar)
        elf_i = 0
        pkg = 0
        # Interleave "packages" like a real rootfs: each has some binaries,
        # libraries, docs and data, until every budget is spent.
        while any(v > 0 for v in budget.values()):
            pkg += 1
            name = f"pkg{pkg:05d}"
            if budget["elf"] > 0:
                for _ in range(rng.randint(1, 3)):
                    bin_name, path = elves[elf_i % len(elves)]
                    cycle = elf_i // len(elves)
                    elf_i += 1
                    with open(path, "rb") as f:
                        data = f.read()
                    data = data[: budget["elf"]] if len(data) > budget["elf"] else data
                    suffix = f"-{cycle}" if cycle else ""
                    w.file(f"usr/bin/{bin_name}{suffix}", data, 0o755)
                    budget["elf"] -= len(data)
                    if rng.random() < 0.2:
                        w.symlink(f"usr/bin/{name}-{bin_name}{suffix}", f"{bin_name}{suffix}")
                    if budget["elf"] <= 0:
                        break
            if budget["text"] > 0:
                for i in range(rng.randint(10, 60)):
                    size = min(int(rng.lognormvariate(8.3, 1.2)) + 1, 256 << 10, budget["text"])
                    sub = rng.choice(["usr/share/doc", "usr/lib/python3/dist-packages",
                                      "usr/include", "usr/share/man/man1", "etc"])
                    w.file(f"{sub}/{name}/f{i:03d}.txt", text_blob(rng, size, vocab, weights))
                    budget["text"] -= size
                    if budget["text"] <= 0:
                        break
            if budget["random"] > 0 and rng.random() < 0.5:
                for i in range(rng.randint(1, 4)):
                    size = min(rng.randint(16 << 10, 2 << 20), budget["random"])
                    w.file(f"usr/share/{name}/data{i}.bin", rng.randbytes(size))
                    budget["random"] -= size
                    if budget["random"] <= 0:
                        break


if __name__ == "__main__":
    main()
