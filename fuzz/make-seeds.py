#!/usr/bin/env python3
"""Write the fuzz seed corpora into fuzz/seeds/<target>/ (small, committed).

Deterministic: run it again and the files are byte-identical. The tar seeds
are the entries of testdata/rootfs.tar (big files shortened) in the three
tar dialects, each in every compression the importer reads, plus the
multi-member/multi-stream/skippable-frame shapes.

fuzz/seeds/signed_checksums/ is not written here: it was made once with
GnuPG (an ed25519 key, a Gentoo-style DIGESTS file clear-signed, signed
detached armored and binary, and the public key), since signatures carry
times and random numbers. cargo test runs every seed through src/fuzzing.rs.
"""
import bz2, gzip, io, json, lzma, os, subprocess, sys, tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "seeds")


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def small_rootfs(fmt):
    src = tarfile.open(os.path.join(ROOT, "testdata", "rootfs.tar"))
    buf = io.BytesIO()
    out = tarfile.open(fileobj=buf, mode="w", format=fmt)
    for m in src.getmembers():
        data = src.extractfile(m).read() if m.isfile() else None
        if data is not None and len(data) > 300:
            data = data[:300]
            m.size = len(data)
        if fmt == tarfile.PAX_FORMAT and m.name == "var/newest":
            m.pax_headers = {"mtime": "1700000060.5", "comment": "x" * 40}
        out.addfile(m, io.BytesIO(data) if data is not None else None)
    out.close()
    return buf.getvalue()


def gz(b):
    return gzip.compress(b, compresslevel=6, mtime=0)


def xz(b, check=lzma.CHECK_CRC64):
    return lzma.compress(b, format=lzma.FORMAT_XZ, check=check, preset=6)


def zst(b):
    return subprocess.run(["zstd", "-q", "-c", "-3", "--no-check"], input=b,
                          stdout=subprocess.PIPE, check=True).stdout


def decode_scan():
    t = "decode_scan"
    plain = {}
    for name, fmt in [("gnu", tarfile.GNU_FORMAT), ("pax", tarfile.PAX_FORMAT),
                      ("ustar", tarfile.USTAR_FORMAT)]:
        try:
            plain[name] = small_rootfs(fmt)
        except ValueError:
            continue  # ustar cannot hold the long names
        write(t, f"{name}.tar", plain[name])
    tar = plain["pax"]
    write(t, "pax.tar.gz", gz(tar))
    write(t, "pax.tar.xz", xz(tar))
    write(t, "pax.tar.bz2", bz2.compress(tar, 9))
    h = len(tar) // 2
    write(t, "multi-member.tar.gz", gz(tar[:h]) + gz(tar[h:]))
    write(t, "padded-streams.tar.xz", xz(tar[:h]) + b"\0" * 8 + xz(tar[h:], lzma.CHECK_SHA256))
    write(t, "multi-stream.tar.bz2", bz2.compress(tar[:h]) + bz2.compress(tar[h:]))
    try:
        skippable = bytes([0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0]) + b"skip"
        write(t, "frames.tar.zst", skippable + zst(tar[:h]) + zst(tar[h:]))
        write(t, "gnu.tar.zst", zst(plain["gnu"]))
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"zstd seeds skipped: {e}", file=sys.stderr)
    # Archive endings: only the end marker; no marker; garbage after it.
    write(t, "end-marker-only.tar", b"\0" * 1024)
    write(t, "no-end-marker.tar", plain["gnu"][: len(plain["gnu"]) - 1024].rstrip(b"\0")
          .ljust(((len(plain["gnu"]) - 1024 + 511) // 512) * 512, b"\0"))
    write(t, "trailing.tar.gz", gz(plain["ustar" if "ustar" in plain else "gnu"] + b"tail"))


SHA256_ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
SHA512_ABC = ("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
              "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f")
B2_ABC = ("ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
          "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923")
STAGE3 = "stage3-amd64-openrc-20240101T170000Z.tar.xz"


def checksum_file():
    t = "checksum_file"
    # First byte: low nibble picks the checksum file's name, high nibble the
    # input's name (see fuzz_targets/checksum_file.rs).
    write(t, "sha256sums", b"\x00" + f"{SHA256_ABC}  other.tar\n{SHA256_ABC} *./rootfs.tar.xz\n".encode())
    write(t, "bsd-tags", b"\x24" + f"SHA256 (a (1).tar) = {SHA256_ABC}\nSHA512 (a (1).tar) = {SHA512_ABC}\n"
          f"BLAKE2b (a (1).tar) = {B2_ABC}\nMD5 (a (1).tar) = 900150983cd24fb0d6963f7d28e17f72\n".encode())
    write(t, "gentoo-digests", b"\x11" + (
        "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n"
        f"# BLAKE2B HASH\n{B2_ABC}  {STAGE3}\n# SHA512 HASH\n{SHA512_ABC}  {STAGE3}\n"
        f"# BLAKE2B HASH\n{B2_ABC}  {STAGE3}.CONTENTS.gz\n"
        "-----BEGIN PGP SIGNATURE-----\n\niQIzBAEBCgAdFiEE\n-----END PGP SIGNATURE-----\n").encode())
    write(t, "one-line", b"\x02" + f"{SHA256_ABC}\n".encode())
    write(t, "b2sums", b"\x33" + f"{B2_ABC}  alpine-minirootfs-3.20.0-x86_64.tar.gz\r\n".encode())
    write(t, "expect", b"\x00" + f"SHA256:{SHA256_ABC.upper()}".encode())


def index_merge():
    t = "index_merge"
    m = lambda c, tag, **kw: dict({
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": "sha256:" + c * 64, "size": 404,
        "annotations": {"org.opencontainers.image.ref.name": tag}}, **kw)
    base = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json"}
    write(t, "empty", json.dumps(dict(base, manifests=[])).encode())
    write(t, "two-tags", json.dumps(dict(base, manifests=[
        m("a", "latest", platform={"architecture": "amd64", "os": "linux"}),
        m("b", "fuzz")])).encode())
    write(t, "unknown-fields", json.dumps(dict(base, manifests=[m("c", "x")],
        annotations={"org.example": "1"}, **{"x-custom": {"keep": [1, 2.5, None]}})).encode())
    write(t, "nested-index", json.dumps(dict(base, manifests=[{
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "digest": "sha256:" + "d" * 64, "size": 1000}])).encode())
    write(t, "no-media-type", json.dumps({"schemaVersion": 2, "manifests": [m("e", "fuzz")]}).encode())


if __name__ == "__main__":
    decode_scan()
    checksum_file()
    index_merge()
    for t in sorted(os.listdir(OUT)):
        files = os.listdir(os.path.join(OUT, t))
        size = sum(os.path.getsize(os.path.join(OUT, t, f)) for f in files)
        print(f"{t}: {len(files)} seeds, {size} bytes")
