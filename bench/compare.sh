#!/usr/bin/env bash
# Compare what two ociimport binaries show a user, variant by variant: exit
# status, stdout, stderr and every file written (path, mode, sha256). For
# refactors that must change nothing visible (issue 18).
#
#   bench/compare.sh OLD_BINARY NEW_BINARY
#
# Prints one line per variant (same / DIFFERENT) and exits 1 if any differs.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Both named ociimport: clap prints the name it was run as.
mkdir -p "$work/bin-old" "$work/bin-new"
cp "$1" "$work/bin-old/ociimport"
cp "$2" "$work/bin-new/ociimport"
old=$work/bin-old/ociimport
new=$work/bin-new/ociimport

# Inputs, made once, deterministically.
in="$work/in"
mkdir -p "$in"
cp "$repo/testdata/rootfs.tar" "$in/rootfs.tar"
gzip -9n <"$in/rootfs.tar" >"$in/rootfs.tar.gz"
xz -T1 -6 <"$in/rootfs.tar" >"$in/rootfs.tar.xz"
zstd -q -19 <"$in/rootfs.tar" >"$in/rootfs.tar.zst"
bzip2 -9 <"$in/rootfs.tar" >"$in/rootfs.tar.bz2"
head -c 3000 "$in/rootfs.tar.gz" >"$in/cut.tar.gz"
printf 'PK\003\004not a tar' >"$in/zip.tar"
sum=$(sha256sum "$in/rootfs.tar.xz" | cut -d' ' -f1)
printf '%s  rootfs.tar.xz\n' "$sum" >"$in/SHA256SUMS"

# name|shell words after the binary (run in a fresh directory holding the inputs)
variants=(
    "plain|rootfs.tar --json"
    "gzip-default|rootfs.tar.gz"
    "xz-to-zstd|rootfs.tar.xz --compression zstd -t z1 -o out"
    "zstd-keep|rootfs.tar.zst --json -o out"
    "bzip2|rootfs.tar.bz2 -o out --level 9"
    "normalize|rootfs.tar.gz --normalize --created 2024-01-02T03:04:05Z -o out --json"
    "strip|rootfs.tar --strip-components 1 -o out"
    "archive-file|rootfs.tar.gz --format oci-archive -o img.tar --json"
    "archive-stdout|rootfs.tar.xz --format oci-archive -o -"
    "index|rootfs.tar.gz --index --arch arm64 --variant v8 -o out --json"
    "index-archive|rootfs.tar.gz --index --arch arm64 --format oci-archive -o idx.tar"
    "config|rootfs.tar -o out -t v1.0 -c 'CMD [\"/bin/sh\"]' -c 'ENV A=b' --label x=y --annotation org.example.k=v -m hello --json"
    "checksums|rootfs.tar.xz --checksums SHA256SUMS -o out --json"
    "expect-wrong|rootfs.tar.xz --expect sha256:0000000000000000000000000000000000000000000000000000000000000000 -o out"
    "truncated|cut.tar.gz -o out"
    "unknown-format|zip.tar -o out"
    "two-layers|rootfs.tar rootfs.tar.gz -o out --json"
    "usage-bad-level|rootfs.tar --compression gzip --level 42 -o out"
    "retag|rootfs.tar -o out -t a && \$BIN rootfs.tar.gz -o out -t a --json && \$BIN verify out && \$BIN inspect out --json"
    "verify-inspect|rootfs.tar.zst -o out -q && \$BIN verify out:latest --json && \$BIN inspect out"
    "help|--help"
    "verify-help|verify --help"
)

run_one() { # BIN NAME ARGS -> directory with the results
    local bin=$1 name=$2 args=$3 dir="$work/$4/$name"
    mkdir -p "$dir/run"
    cp "$in"/* "$dir/run/"
    (
        cd "$dir/run"
        export BIN=$bin SOURCE_DATE_EPOCH=1700000000
        set +e
        eval "\"\$BIN\" $args" >"$dir/stdout" 2>"$dir/stderr"
        echo $? >"$dir/status"
    )
    # Temp paths and the binary's own path may differ between runs.
    sed -i -e "s#$work/$4#WORK#g" -e "s#$bin#BIN#g" "$dir/stdout" "$dir/stderr"
    (cd "$dir/run" && find . -type f -o -type d | sort | while read -r f; do
        if [ -f "$f" ]; then echo "$f $(stat -c %a "$f") $(sha256sum <"$f" | cut -c1-64)"; else echo "$f/"; fi
    done) >"$dir/files"
    rm -rf "$dir/run"
}

failed=0
for v in "${variants[@]}"; do
    name=${v%%|*}
    args=${v#*|}
    run_one "$old" "$name" "$args" old
    run_one "$new" "$name" "$args" new
    if diff -r "$work/old/$name" "$work/new/$name" >"$work/diff" 2>&1; then
        printf '%-16s same (exit %s, %s files)\n' "$name" "$(cat "$work/new/$name/status")" "$(wc -l <"$work/new/$name/files")"
    else
        printf '%-16s DIFFERENT\n' "$name"
        head -40 "$work/diff"
        failed=1
    fi
done
exit $failed
