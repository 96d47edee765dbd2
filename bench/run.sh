#!/usr/bin/env bash
# Benchmark ociimport against the command-line tools it replaces (issue 6).
#
#   bench/run.sh                      # full run: Debian rootfs via mmdebstrap, 2 repetitions
#   BENCH_QUICK=1 bench/run.sh        # tiny synthetic input, 1 repetition: checks the script
#   BENCH_SIZE_MB=200 bench/run.sh    # synthetic input of ~200 MB
#
# Environment:
#   BENCH_DIR      work/cache directory          [/tmp/ociimport-bench]
#   BENCH_REPEAT   repetitions per case (median) [2; 1 with BENCH_QUICK]
#   BENCH_SIZE_MB  size of the synthetic tarball [700; 16 with BENCH_QUICK];
#                  setting it selects the synthetic input
#   BENCH_SOURCE   auto | mmdebstrap | synthetic [auto: mmdebstrap when installed
#                  and BENCH_SIZE_MB is unset, else synthetic]
#   BENCH_QUICK    1: tiny synthetic input, one repetition
#   BENCH_THREADS  passed to ociimport --threads  [unset: ociimport's default]
#   BENCH_URL_MBPS rate of the local server for the URL cases, in MB/s
#                  (10^6 bytes) [25; 4 with BENCH_QUICK]: below the local import speed
#   BENCH_PREPARE  1: build the binary and the inputs, then stop
#   BENCH_REV      build this commit (e.g. HEAD) in $BENCH_DIR instead of the work tree
#   OCIIMPORT      use this binary instead of building target/release/ociimport
#   BENCH_JOBS_MB  size of each --jobs input, in MB  [15]
#   BENCH_JOBS_MBPS rate per connection of the --jobs server, in MB/s [10]
#   BENCH_ONLY     an extended regex: time only the cases whose name matches
#                  (e.g. 'multi.xz → gzip|passthrough\)' for the --sbom --provenance pairs)
#
# Every case runs under GNU time (wall, user+sys CPU, peak RSS). Cases are
# interleaved: each repetition runs every case once, in an order that puts
# each ociimport case next to its reference, so load drift hits both alike.
# Writes bench/results/latest.md and prints it.

set -euo pipefail

# ---------------------------------------------------------------- settings --
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_QUICK=${BENCH_QUICK:-0}
BENCH_DIR=${BENCH_DIR:-/tmp/ociimport-bench}
if [[ $BENCH_QUICK == 1 ]]; then
    REPEAT=${BENCH_REPEAT:-1}
    SIZE_MB=${BENCH_SIZE_MB:-16}
    URL_MBPS=${BENCH_URL_MBPS:-4}
    SOURCE=synthetic
else
    REPEAT=${BENCH_REPEAT:-2}
    SIZE_MB=${BENCH_SIZE_MB:-700}
    URL_MBPS=${BENCH_URL_MBPS:-25}
    SOURCE=${BENCH_SOURCE:-auto}
    if [[ $SOURCE == auto ]]; then
        if [[ -z ${BENCH_SIZE_MB:-} ]] && command -v mmdebstrap >/dev/null; then
            SOURCE=mmdebstrap
        else
            SOURCE=synthetic
        fi
    fi
fi
[[ ${BENCH_THREADS:-1} =~ ^[0-9]+$ ]] || { echo "BENCH_THREADS must be a number" >&2; exit 1; }
[[ $URL_MBPS =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "BENCH_URL_MBPS must be a number" >&2; exit 1; }
THREAD_OPT=${BENCH_THREADS:+ --threads $BENCH_THREADS}
RESULTS_MD=$REPO/bench/results/latest.md
OUT=$BENCH_DIR/out            # outputs of the timed commands, wiped per case
LOGS=$BENCH_DIR/logs          # stderr of every timed command
TIME=/usr/bin/time

say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
note() { printf '    %s\n' "$*" >&2; }
die() { printf 'bench/run.sh: %s\n' "$*" >&2; exit 1; }

# ------------------------------------------------------------------ tools --
need() { command -v "$1" >/dev/null || die "$1 is required ($2)"; }
need cargo "Rust toolchain"
need xz "apt-get install xz-utils"
need pigz "apt-get install pigz"
need zstd "apt-get install zstd"
need python3 "apt-get install python3"
need sha256sum "coreutils"
need curl "apt-get install curl"
[[ -x $TIME ]] || die "GNU time is required at $TIME (apt-get install time)"
# xz -dc -T0 decodes multi-block files in parallel only since xz 5.4.
xz_version=$(xz --version | awk 'NR==1 {print $4}')
[[ $(printf '%s\n5.4.0\n' "$xz_version" | sort -V | head -1) == 5.4.0 ]] ||
    note "xz $xz_version decodes single-threaded: the multi-block references are slower than they should be"

PEERS=()
for p in podman skopeo umoci; do
    if command -v "$p" >/dev/null; then PEERS+=("$p"); else note "$p not installed: its case is skipped"; fi
done
SKIPPED=()

# ------------------------------------------------------------------ build --
if [[ -n ${OCIIMPORT:-} ]]; then
    BIN=$OCIIMPORT
    COMMIT="$BIN (prebuilt; tree at $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown))"
    say "using $BIN"
elif [[ -n ${BENCH_REV:-} ]]; then
    # Build a commit, not the work tree: exported to $BENCH_DIR/src-REV,
    # with its own target directory (the first build takes a few minutes).
    rev=$(git -C "$REPO" rev-parse --short "$BENCH_REV^{commit}") || die "BENCH_REV=$BENCH_REV is not a commit"
    src=$BENCH_DIR/src-$rev
    if [[ ! -f $src/Cargo.toml ]]; then
        mkdir -p "$src"
        git -C "$REPO" archive "$rev" | tar -x -C "$src"
    fi
    say "cargo build --release (commit $rev)"
    (cd "$src" && CARGO_TARGET_DIR=$BENCH_DIR/target cargo build --release --locked --quiet) ||
        die "cargo build --release failed for $rev"
    BIN=$BENCH_DIR/target/release/ociimport
    COMMIT=$rev
else
    say "cargo build --release"
    (cd "$REPO" && cargo build --release --quiet) ||
        die "cargo build --release failed (BENCH_REV=HEAD builds the last commit instead)"
    BIN=$REPO/target/release/ociimport
    COMMIT=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
    if [[ -n $(git -C "$REPO" status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null) ]]; then
        COMMIT="$COMMIT + uncommitted changes in src/"
    fi
fi
[[ -x $BIN ]] || die "no ociimport binary at $BIN"

# ------------------------------------------------------------------ input --
# Inputs are cached per kind and size under $BENCH_DIR/inputs/NAME/.
mkdir -p "$BENCH_DIR"
make_synthetic() { # DIR SIZE_MB
    say "generating a ${2} MB synthetic rootfs (bench/gen_rootfs.py)"
    python3 "$REPO/bench/gen_rootfs.py" "$1/rootfs.tar.part" "$2"
    mv "$1/rootfs.tar.part" "$1/rootfs.tar"
}
if [[ $SOURCE == mmdebstrap ]]; then
    IN=$BENCH_DIR/inputs/debian-bookworm-minbase-build-essential-python3
    INPUT_DESC="Debian bookworm minbase + build-essential + python3 (mmdebstrap)"
    mkdir -p "$IN"
    if [[ ! -s $IN/rootfs.tar ]]; then
        need mmdebstrap "apt-get install mmdebstrap"
        say "mmdebstrap --variant=minbase --include=build-essential,python3 bookworm"
        if mmdebstrap --quiet --variant=minbase --include=build-essential,python3 \
            --format=tar bookworm "$IN/rootfs.tar.part" 2>"$IN/mmdebstrap.log"; then
            mv "$IN/rootfs.tar.part" "$IN/rootfs.tar"
        else
            note "mmdebstrap failed (see $IN/mmdebstrap.log): using a synthetic input instead"
            SOURCE=synthetic
        fi
    fi
fi
if [[ $SOURCE == synthetic ]]; then
    IN=$BENCH_DIR/inputs/synthetic-${SIZE_MB}mb
    [[ $BENCH_QUICK == 1 ]] && IN+=-quick   # its multi.xz has small blocks
    INPUT_DESC="synthetic, ${SIZE_MB} MB (bench/gen_rootfs.py: text, /usr/bin ELF files, random data)"
    mkdir -p "$IN"
    [[ -s $IN/rootfs.tar ]] || make_synthetic "$IN" "$SIZE_MB"
fi
TAR=$IN/rootfs.tar

# The compressed variants, each rebuilt when missing or older than the tar.
XZ_MULTI_ARGS=(-T2 -6)
if [[ $BENCH_QUICK == 1 ]]; then
    # xz -T2 -6 cuts 24 MiB blocks: a tiny input would be a single block.
    XZ_MULTI_ARGS+=(--block-size=1MiB)
fi
compress() { # OUTPUT COMMAND...
    local out=$1; shift
    if [[ ! -s $out || $out -ot $TAR ]]; then
        say "$* < rootfs.tar > ${out##*/}"
        "$@" <"$TAR" >"$out.part"
        mv "$out.part" "$out"
    fi
}
compress "$IN/multi.xz" xz "${XZ_MULTI_ARGS[@]}" -c
compress "$IN/single.xz" xz -T1 -6 -c
compress "$IN/rootfs.tar.gz" pigz -6 -c
compress "$IN/rootfs.tar.zst" zstd -q -3 -T2 -c
xz_blocks() { xz --robot -lv "$1" | awk -F'\t' '$1 == "totals" {print $3}'; }
MULTI_BLOCKS=$(xz_blocks "$IN/multi.xz")
SINGLE_BLOCKS=$(xz_blocks "$IN/single.xz")
((MULTI_BLOCKS >= 2)) || die "multi.xz has $MULTI_BLOCKS block(s): xz cannot decode it in parallel"
((SINGLE_BLOCKS == 1)) || die "single.xz has $SINGLE_BLOCKS blocks, expected 1"
TAR_SHA=$(sha256sum <"$TAR" | cut -d' ' -f1)
if [[ ${BENCH_PREPARE:-0} == 1 ]]; then
    say "inputs ready in $IN (BENCH_PREPARE=1: not timing anything)"
    exit 0
fi

# ------------------------------------------------------------------ cases --
# A case is a shell command (run by bash -c under GNU time), an optional
# preparation (untimed), an optional clean-up (untimed) and how to read the
# size of what it wrote. CASES is the order within one repetition.
declare -A CMD PREP POST SIZE
CASES=()
add_case() { # NAME COMMAND [SIZE [PREP [POST]]]
    [[ -z ${BENCH_ONLY:-} || $1 =~ $BENCH_ONLY ]] || return 0
    CASES+=("$1"); CMD[$1]=$2; SIZE[$1]=${3:-}; PREP[$1]=${4:-}; POST[$1]=${5:-}
}
q() { printf '%q' "$1"; }
oci() { # NAME ARGS...: an ociimport case writing layout $OUT/NAME and report $OUT/NAME.json
    local name=$1; shift
    printf '%q %s -o %q --json -q%s > %q' "$BIN" "$*" "$OUT/$name" "$THREAD_OPT" "$OUT/$name.json"
}
layer_size() { printf 'report_size %q' "$OUT/$1.json"; }
blob_size() { printf 'largest_blob %q' "$OUT/$1"; }

add_case "ref: xz -dc -T0 multi.xz" \
    "xz -dc -T0 $(q "$IN/multi.xz") > /dev/null"
add_case "ociimport multi.xz → zstd" \
    "$(oci xz-zstd "$(q "$IN/multi.xz")" --compression zstd)" "$(layer_size xz-zstd)"
add_case "ref: xz -dc single.xz" \
    "xz -dc $(q "$IN/single.xz") > /dev/null"
add_case "ociimport single.xz → gzip" \
    "$(oci single-gzip "$(q "$IN/single.xz")" --compression gzip)" "$(layer_size single-gzip)"
add_case "ref: pigz -dc rootfs.tar.gz" \
    "pigz -dc $(q "$IN/rootfs.tar.gz") > /dev/null"
add_case "ociimport rootfs.tar.gz (auto: passthrough)" \
    "$(oci passthrough "$(q "$IN/rootfs.tar.gz")" --compression auto)" "$(layer_size passthrough)"
# --sbom --provenance (issue 20): the same imports with attestations, side by side.
HAS_ATTEST=0
"$BIN" --help | grep -q -- --provenance && HAS_ATTEST=1
if ((HAS_ATTEST)); then
    add_case "ociimport rootfs.tar.gz (passthrough) --sbom --provenance" \
        "$(oci passthrough-att "$(q "$IN/rootfs.tar.gz")" --compression auto --sbom --provenance)" "$(layer_size passthrough-att)"
else
    SKIPPED+=("this ociimport has no --sbom/--provenance: its cases were skipped")
fi
add_case "ref: zstd -dc rootfs.tar.zst" \
    "zstd -q -dc $(q "$IN/rootfs.tar.zst") > /dev/null"
add_case "ociimport rootfs.tar.zst (auto: passthrough)" \
    "$(oci zstd-passthrough "$(q "$IN/rootfs.tar.zst")" --compression auto)" "$(layer_size zstd-passthrough)"
# The issue's reference is
#   xz -dc -T0 multi.xz | tee >(sha256sum >/dev/null) | pigz -6 | tee >(sha256sum >/dev/null) > out.gz
# bash does not wait for process substitutions, so time(1) would miss the
# hashers; FIFOs make them ordinary children of the timed shell.
add_case "ref: xz -dc -T0 | pigz -6, sha256 taps" \
    "cd $(q "$OUT") && mkfifo t1 t2 && { sha256sum < t1 > /dev/null & sha256sum < t2 > /dev/null &
     xz -dc -T0 $(q "$IN/multi.xz") | tee t1 | pigz -6 | tee t2 > out.gz; wait; }" \
    "file_size $(q "$OUT/out.gz")"
add_case "ociimport multi.xz → gzip" \
    "$(oci xz-gzip "$(q "$IN/multi.xz")" --compression gzip)" "$(layer_size xz-gzip)"
((HAS_ATTEST)) && add_case "ociimport multi.xz → gzip --sbom --provenance" \
    "$(oci xz-gzip-att "$(q "$IN/multi.xz")" --compression gzip --sbom --provenance)" "$(layer_size xz-gzip-att)"
# --normalize (issue 11): the same imports with the canonical rewrite, side by side.
if "$BIN" --help | grep -q -- --normalize; then
    add_case "ociimport multi.xz → gzip --normalize" \
        "$(oci xz-gzip-norm "$(q "$IN/multi.xz")" --compression gzip --normalize)" "$(blob_size xz-gzip-norm)"
    add_case "ociimport rootfs.tar → gzip" \
        "$(oci tar-gzip-plain "$(q "$TAR")" --compression gzip)" "$(layer_size tar-gzip-plain)"
    add_case "ociimport rootfs.tar → gzip --normalize" \
        "$(oci tar-gzip-norm "$(q "$TAR")" --compression gzip --normalize)" "$(blob_size tar-gzip-norm)"
else
    SKIPPED+=("this ociimport has no --normalize: its cases were skipped")
fi
add_case "ref: xz -dc -T0 | zstd -3 -T0" \
    "xz -dc -T0 $(q "$IN/multi.xz") | zstd -q -3 -T0 > $(q "$OUT/out.zst")" \
    "file_size $(q "$OUT/out.zst")"
HAS_URL=0
"$BIN" --help | grep -q -- --retries && HAS_URL=1
# URL inputs (issue 12): a local server paced to $URL_MBPS MB/s, below the
# local import speed, so a URL import should take the download's time.
PORT_FILE=$BENCH_DIR/url-server.port
rm -f "$PORT_FILE"
python3 "$REPO/bench/throttled_server.py" "$IN" "$URL_MBPS" "$PORT_FILE" &
URL_SERVER=$!
trap 'kill "$URL_SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 50); do [[ -s $PORT_FILE ]] && break; sleep 0.1; done
[[ -s $PORT_FILE ]] || die "bench/throttled_server.py did not start"
URL=http://127.0.0.1:$(cat "$PORT_FILE")/rootfs.tar.gz
if ((HAS_URL)); then
add_case "ref: curl -o /dev/null URL (download alone)" \
    "curl -sSf -o /dev/null $(q "$URL")"
add_case "ociimport URL (rootfs.tar.gz, passthrough)" \
    "$(oci url "$(q "$URL")" --compression auto)" "$(layer_size url)"
add_case "curl URL | ociimport -" \
    "curl -sSf $(q "$URL") | $(oci url-pipe - --compression auto)" "$(layer_size url-pipe)"
else
    SKIPPED+=("this ociimport reads no URLs: its URL cases were skipped")
fi
# --jobs (issue 21): three inputs at once. Three ${JOBS_MB} MB gzip rootfs
# (amd64, arm64, riscv64: bench/jobs_inputs.py) served by a second paced
# server at $JOBS_MBPS MB/s per connection: --index of the three URLs and a
# 3-layer image of them against one download alone. Local files: three
# CPU-bound xz → gzip layers, default --jobs against --jobs 1.
JOBS_MB=${BENCH_JOBS_MB:-15}
JOBS_MBPS=${BENCH_JOBS_MBPS:-10}
HAS_JOBS=0
"$BIN" --help | grep -q -- --jobs && HAS_JOBS=1
if ((HAS_JOBS)); then
    JOBS_IN=$BENCH_DIR/inputs/jobs-${JOBS_MB}mb
    python3 "$REPO/bench/jobs_inputs.py" "$JOBS_IN" "$JOBS_MB"
    JOBS_PORT_FILE=$BENCH_DIR/jobs-server.port
    rm -f "$JOBS_PORT_FILE"
    python3 "$REPO/bench/throttled_server.py" "$JOBS_IN" "$JOBS_MBPS" "$JOBS_PORT_FILE" &
    JOBS_SERVER=$!
    trap 'kill "$URL_SERVER" "$JOBS_SERVER" 2>/dev/null || true' EXIT
    for _ in $(seq 50); do [[ -s $JOBS_PORT_FILE ]] && break; sleep 0.1; done
    [[ -s $JOBS_PORT_FILE ]] || die "the --jobs server did not start"
    JOBS_URL=http://127.0.0.1:$(cat "$JOBS_PORT_FILE")
    JOBS_URLS="$(q "$JOBS_URL/amd64.tar.gz") $(q "$JOBS_URL/arm64.tar.gz") $(q "$JOBS_URL/riscv64.tar.gz")"
    add_case "jobs: curl one URL (download alone)" \
        "curl -sSf -o /dev/null $(q "$JOBS_URL/amd64.tar.gz")"
    add_case "jobs: ociimport --index 3 URLs" \
        "$(oci jobs-index --index $JOBS_URLS)"
    add_case "jobs: ociimport 3-layer image from 3 URLs" \
        "$(oci jobs-layers $JOBS_URLS --arch amd64)"
    add_case "jobs: ociimport --index 3 URLs --jobs 1" \
        "$(oci jobs-index-1 --index $JOBS_URLS --jobs 1)"
    JOBS_LOCAL="$(q "$IN/single.xz") $(q "$IN/single.xz") $(q "$IN/single.xz")"
    add_case "jobs: ociimport 3 × single.xz → gzip (default --jobs)" \
        "$(oci jobs-local $JOBS_LOCAL --compression gzip)"
    add_case "jobs: ociimport 3 × single.xz → gzip --jobs 1" \
        "$(oci jobs-local-1 $JOBS_LOCAL --compression gzip --jobs 1)"
    add_case "jobs: ociimport 3 × single.xz → gzip --jobs 3" \
        "$(oci jobs-local-3 $JOBS_LOCAL --compression gzip --jobs 3)"
else
    SKIPPED+=("this ociimport has no --jobs: its cases were skipped")
fi
for p in "${PEERS[@]}"; do
    case $p in
    podman)
        add_case "peer: podman import URL" \
            "podman import -q $(q "$URL") localhost/ociimport-bench:url > /dev/null" "" \
            "podman rmi -f localhost/ociimport-bench:url >/dev/null 2>&1 || true" \
            "podman rmi -f localhost/ociimport-bench:url >/dev/null 2>&1 || true" ;;
    esac
done
for p in "${PEERS[@]}"; do
    case $p in
    podman)
        add_case "peer: podman import multi.xz" \
            "podman import -q $(q "$IN/multi.xz") localhost/ociimport-bench:latest > /dev/null" "" \
            "podman rmi -f localhost/ociimport-bench:latest >/dev/null 2>&1 || true" \
            "podman rmi -f localhost/ociimport-bench:latest >/dev/null 2>&1 || true" ;;
    skopeo)
        add_case "peer: skopeo copy tarball:rootfs.tar.gz" \
            "skopeo copy -q tarball:$(q "$IN/rootfs.tar.gz") oci:$(q "$OUT/skopeo"):t" \
            "$(blob_size skopeo)" ;;
    umoci)
        add_case "ociimport rootfs.tar → gzip (auto)" \
            "$(oci tar-gzip "$(q "$TAR")" --compression auto)" "$(layer_size tar-gzip)"
        add_case "peer: umoci raw add-layer rootfs.tar" \
            "umoci init --layout $(q "$OUT/umoci") && umoci new --image $(q "$OUT/umoci"):t &&
             umoci raw add-layer --image $(q "$OUT/umoci"):t $(q "$TAR")" \
            "$(blob_size umoci)" ;;
    esac
done

# Size readers, used by the SIZE commands above (bytes on stdout).
file_size() { stat -c %s "$1"; }
largest_blob() { find "$1/blobs" -type f -printf '%s\n' | sort -n | tail -1; }
report_size() { # also checks the layer really is the input
    python3 - "$1" "$TAR_SHA" <<'EOF'
import json, sys
try:
    layer = json.load(open(sys.argv[1]))["layers"][0]
except (OSError, ValueError, KeyError, IndexError) as e:
    sys.exit(f"{sys.argv[1]}: no usable ociimport --json report ({e})")
if layer["diff_id"] != "sha256:" + sys.argv[2]:
    sys.exit(f"{sys.argv[1]}: diff_id {layer['diff_id']} is not the sha256 of rootfs.tar")
print(layer["size"])
EOF
}

# ------------------------------------------------------------------- runs --
# One run: prepare (untimed), time `bash -c CMD`, record wall/cpu/rss/size.
declare -A WALLS CPUS RSSS OTHERS OUTSIZE
# CPU seconds all CPUs have spent busy since boot (/proc/stat: user nice system
# irq softirq steal; not idle or iowait).
busy_seconds() {
    awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" {printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / hz; exit}' /proc/stat
}
run_case() { # NAME REP
    local name=$1 rep=$2 tf=$LOGS/time.txt log
    log=$LOGS/$(printf '%s' "$name" | tr -c 'A-Za-z0-9.\n' '_').r$rep.log
    rm -rf "$OUT" && mkdir -p "$OUT"
    [[ -z ${PREP[$name]} ]] || eval "${PREP[$name]}"
    sync
    local busy_before busy_after
    busy_before=$(busy_seconds)
    if ! "$TIME" -f '%e %U %S %M' -o "$tf" bash -c "set -o pipefail; ${CMD[$name]}" >"$log" 2>&1; then
        cat "$log" >&2
        die "case failed: $name (command: ${CMD[$name]})"
    fi
    busy_after=$(busy_seconds)
    local wall user sys rss
    read -r wall user sys rss <"$tf"
    WALLS[$name]+="$wall "
    CPUS[$name]+="$(awk -v u="$user" -v s="$sys" 'BEGIN {printf "%.2f", u + s}') "
    RSSS[$name]+="$rss "
    # CPUs kept busy by everything else on the machine while the case ran.
    OTHERS[$name]+="$(awk -v a="$busy_before" -v b="$busy_after" -v u="$user" -v s="$sys" -v w="$wall" \
        'BEGIN {o = (b - a - u - s) / (w > 0 ? w : 1); printf "%.2f", (o < 0 ? 0 : o)}') "
    [[ -z ${SIZE[$name]} ]] || OUTSIZE[$name]=$(eval "${SIZE[$name]}")
    [[ -z ${POST[$name]} ]] || eval "${POST[$name]}"
    note "$(printf '%-48s rep %d: %7.2f s wall' "$name" "$rep" "$wall")"
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR] = $1} END {
    if (NR == 0) exit 1
    if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
load1=${LOAD_BEFORE%% *}
if awk -v l="$load1" 'BEGIN {exit !(l >= 1.5)}'; then
    note "load average is $load1: other work on this machine will slow every case"
fi
mkdir -p "$LOGS"
say "warming the page cache"
cat "$TAR" "$IN/multi.xz" "$IN/single.xz" "$IN/rootfs.tar.gz" "$IN/rootfs.tar.zst" >/dev/null
say "timing ${#CASES[@]} cases × $REPEAT repetition(s) on $(basename "$IN")"
for ((rep = 1; rep <= REPEAT; rep++)); do
    for name in "${CASES[@]}"; do run_case "$name" "$rep"; done
done
rm -rf "$OUT"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ----------------------------------------------------------------- report --
declare -A WALL CPU RSS OTHER
for name in "${CASES[@]}"; do
    OTHER[$name]=$(median <<<"${OTHERS[$name]}")
    WALL[$name]=$(median <<<"${WALLS[$name]}")
    CPU[$name]=$(median <<<"${CPUS[$name]}")
    RSS[$name]=$(median <<<"${RSSS[$name]}")
done
cell() { printf '%s' "${1//|/\\|}"; }   # a markdown table cell: escape |
mib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }
kib_to_mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
TARGET_ROWS=()
# A target: DESCRIPTION VALUE OP LIMIT UNIT. The verdict uses the unrounded
# value; the table shows it to three decimals.
target() {
    local verdict=MISS shown limit
    if awk -v m="$2" -v l="$4" -v op="$3" 'BEGIN {m += 0; l += 0; exit !(op == "<=" ? m <= l : m >= l)}'; then
        verdict=PASS
    fi
    case $5 in
    %) shown=$(awk -v m="$2" 'BEGIN {printf "%+.2f %%", m}'); limit="+$4 %" ;;
    " MiB") shown=$(awk -v m="$2" 'BEGIN {printf "%.1f MiB", m}'); limit="$4 MiB" ;;
    *) shown=$(awk -v m="$2" -v u="$5" 'BEGIN {printf "%.3f%s", m, u}'); limit="$4$5" ;;
    esac
    TARGET_ROWS+=("| $(cell "$1") | $shown | $3 $limit | **$verdict** |")
}
exact_ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.6f", (b > 0 ? a / b : 0)}'; }
has() { [[ -n ${WALL[$1]:-} ]]; }

X2G="ociimport multi.xz → gzip"
TAPS="ref: xz -dc -T0 | pigz -6, sha256 taps"
PASS="ociimport rootfs.tar.gz (auto: passthrough)"
# A wall-time ratio target, when both cases ran (BENCH_ONLY may leave one out).
ratio_target() { # DESCRIPTION CASE REFERENCE OP LIMIT
    has "$2" && has "$3" && target "$1" "$(exact_ratio "${WALL[$2]}" "${WALL[$3]}")" "$4" "$5" "×"
    return 0
}
ratio_target "multi-block xz → gzip: wall vs \`xz -dc -T0 | pigz -6\` with sha256 taps" "$X2G" "$TAPS" "<=" 0.5
has "$X2G" && has "$TAPS" && target "multi-block xz → gzip: layer size vs \`pigz -6\`" \
    "$(awk -v a="${OUTSIZE[$X2G]}" -v b="${OUTSIZE[$TAPS]}" 'BEGIN {printf "%.6f", (a / b - 1) * 100}')" \
    "<=" 2 "%"
ratio_target "multi-block xz → zstd: wall vs \`xz -dc -T0\`" \
    "ociimport multi.xz → zstd" "ref: xz -dc -T0 multi.xz" "<=" 1.15
ratio_target "gzip passthrough: wall vs \`pigz -dc\`" "$PASS" "ref: pigz -dc rootfs.tar.gz" "<=" 1.15
ratio_target "single-block xz → gzip: wall vs \`xz -dc\` (one thread)" \
    "ociimport single.xz → gzip" "ref: xz -dc single.xz" "<=" 1.15
ratio_target "\`--sbom --provenance\` wall ÷ the same import without (multi.xz → gzip)" \
    "$X2G --sbom --provenance" "$X2G" "<=" 1.03
ratio_target "\`--sbom --provenance\` wall ÷ the same import without (rootfs.tar.gz passthrough)" \
    "ociimport rootfs.tar.gz (passthrough) --sbom --provenance" "$PASS" "<=" 1.03
# CPU time as well: under other load the wall ratio of two short cases is noise.
for pair in "$X2G --sbom --provenance=$X2G" "ociimport rootfs.tar.gz (passthrough) --sbom --provenance=$PASS"; do
    a=${pair%%=*} b=${pair#*=}
    has "$a" && has "$b" && target "\`--sbom --provenance\` cpu ÷ the same import without (${b#ociimport })" \
        "$(exact_ratio "${CPU[$a]}" "${CPU[$b]}")" "<=" 1.03 "×"
done
if [[ " ${PEERS[*]} " != *" podman "* ]]; then
    SKIPPED+=("podman import (podman not installed): its target is not measured")
elif has "peer: podman import multi.xz" && has "$X2G"; then
    target "\`podman import\` wall ÷ ociimport wall, same multi-block xz" \
        "$(exact_ratio "${WALL["peer: podman import multi.xz"]}" "${WALL[$X2G]}")" ">=" 4 "×"
fi
for pair in "ociimport multi.xz → gzip --normalize=$X2G" "ociimport rootfs.tar → gzip --normalize=ociimport rootfs.tar → gzip"; do
    a=${pair%%=*} b=${pair#*=}
    if has "$a"; then
        target "\`--normalize\` wall ÷ the same import without it (${b#ociimport })" \
            "$(exact_ratio "${WALL[$a]}" "${WALL[$b]}")" "<=" 1.10 "×"
    fi
done
URL_CASE="ociimport URL (rootfs.tar.gz, passthrough)"
CURL_CASE="ref: curl -o /dev/null URL (download alone)"
has "$URL_CASE" && target "URL import at $URL_MBPS MB/s: wall vs the download alone (\`curl -o /dev/null\`)" \
    "$(exact_ratio "${WALL[$URL_CASE]}" "${WALL[$CURL_CASE]}")" "<=" 1.1 "×"
if has "peer: podman import URL" && has "$URL_CASE"; then
    target "\`podman import URL\` wall ÷ ociimport URL wall" \
        "$(exact_ratio "${WALL["peer: podman import URL"]}" "${WALL[$URL_CASE]}")" ">=" 1 "×"
fi
ALONE="jobs: curl one URL (download alone)"
ratio_target "\`--index\` of 3 URLs at $JOBS_MBPS MB/s each: wall ÷ one download alone" \
    "jobs: ociimport --index 3 URLs" "$ALONE" "<=" 1.3
ratio_target "3-layer image from 3 URLs at $JOBS_MBPS MB/s each: wall ÷ one download alone" \
    "jobs: ociimport 3-layer image from 3 URLs" "$ALONE" "<=" 1.3
ratio_target "3 local CPU-bound inputs: default \`--jobs\` wall ÷ \`--jobs 1\`" \
    "jobs: ociimport 3 × single.xz → gzip (default --jobs)" "jobs: ociimport 3 × single.xz → gzip --jobs 1" "<=" 1.05
for name in "ociimport rootfs.tar.gz (auto: passthrough)" "ociimport single.xz → gzip"; do
    has "$name" && target "peak RSS, ${name#ociimport }" "$(kib_to_mib "${RSS[$name]}")" "<=" 64 " MiB"
done

for p in podman skopeo umoci; do
    [[ " ${PEERS[*]} " == *" $p "* ]] || SKIPPED+=("$p not installed: its case was skipped")
done

mkdir -p "$(dirname "$RESULTS_MD")"
{
    echo "# ociimport benchmark"
    echo
    echo "| | |"
    echo "| --- | --- |"
    echo "| date | $(date -u +%Y-%m-%dT%H:%MZ) |"
    echo "| ociimport | $COMMIT |"
    echo "| machine | $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM, Linux $(uname -r) |"
    echo "| load average (1/5/15 min) | before $LOAD_BEFORE, after $LOAD_AFTER |"
    echo "| input | $INPUT_DESC: $(mib "$(stat -c %s "$TAR")") MiB tar |"
    echo "| compressed | multi.xz $(mib "$(stat -c %s "$IN/multi.xz")") MiB (\`xz ${XZ_MULTI_ARGS[*]}\`, $MULTI_BLOCKS blocks), single.xz $(mib "$(stat -c %s "$IN/single.xz")") MiB (\`xz -T1 -6\`, 1 block), rootfs.tar.gz $(mib "$(stat -c %s "$IN/rootfs.tar.gz")") MiB (\`pigz -6\`), rootfs.tar.zst $(mib "$(stat -c %s "$IN/rootfs.tar.zst")") MiB (\`zstd -3 -T2\`) |"
    echo "| tools | xz $xz_version, pigz $(pigz --version 2>&1 | awk '{print $2}'), zstd $(zstd -V | grep -o 'v[0-9.]*' | head -1)$(for p in "${PEERS[@]}"; do printf ', %s %s' "$p" "$($p --version 2>&1 | grep -o '[0-9][0-9.]*' | head -1)"; done) |"
    echo "| URL cases | rootfs.tar.gz served by bench/throttled_server.py on 127.0.0.1 at $URL_MBPS MB/s (download alone: $(awk -v b="$(stat -c %s "$IN/rootfs.tar.gz")" -v r="$URL_MBPS" 'BEGIN {printf "%.1f", b / r / 1e6}') s at that rate) |"
    echo "| repetitions | $REPEAT, interleaved; median shown |"
    echo
    echo "| case | wall s | cpu s | cpu/wall | peak RSS MiB | output MiB | wall s, each run | other load |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |"
    for name in "${CASES[@]}"; do
        size=-
        [[ -z ${OUTSIZE[$name]:-} ]] || size=$(mib "${OUTSIZE[$name]}")
        printf '| %s | %.2f | %.2f | %s | %s | %s | %s | %.2f |\n' "$(cell "$name")" "${WALL[$name]}" "${CPU[$name]}" \
            "$(ratio "${CPU[$name]}" "${WALL[$name]}")" "$(kib_to_mib "${RSS[$name]}")" "$size" \
            "$(echo ${WALLS[$name]})" "${OTHER[$name]}"
    done
    echo
    echo "| target | measured | goal | |"
    echo "| --- | ---: | ---: | --- |"
    printf '%s\n' "${TARGET_ROWS[@]}"
    echo
    echo "CPU time (user + sys), ociimport against the commands doing the same work:"
    echo
    echo "| ociimport case | cpu s | reference | cpu s | ociimport − reference |"
    echo "| --- | ---: | --- | ---: | ---: |"
    for pair in "ociimport multi.xz → gzip=$TAPS" \
        "ociimport multi.xz → zstd=ref: xz -dc -T0 | zstd -3 -T0" \
        "ociimport single.xz → gzip=ref: xz -dc single.xz" \
        "ociimport rootfs.tar.gz (auto: passthrough)=ref: pigz -dc rootfs.tar.gz" \
        "ociimport rootfs.tar.zst (auto: passthrough)=ref: zstd -dc rootfs.tar.zst" \
        "$X2G --sbom --provenance=$X2G" \
        "ociimport rootfs.tar.gz (passthrough) --sbom --provenance=$PASS"; do
        a=${pair%%=*} b=${pair#*=}
        has "$a" && has "$b" || continue
        printf '| %s | %.2f | %s | %.2f | %+.2f |\n' "$(cell "$a")" "${CPU[$a]}" "$(cell "$b")" "${CPU[$b]}" \
            "$(awk -v a="${CPU[$a]}" -v b="${CPU[$b]}" 'BEGIN {print a - b}')"
    done
    echo
    echo "Wall and CPU (user + sys) time and peak RSS from GNU time. For a pipeline"
    echo "(\`bash -c 'a | b'\`) CPU is the sum over its processes, but peak RSS is the"
    echo "largest single process, not the sum. ociimport's output size is the layer"
    echo "blob (\`layers[0].size\`); every ociimport layer's diff_id was checked against"
    echo "the sha256 of rootfs.tar. The sha256 taps of the reference are FIFOs read"
    echo "by \`sha256sum\`, so that time(1) counts them. \"other load\" is the CPUs kept"
    echo "busy by other processes during the case (from /proc/stat, median): on"
    echo "$(nproc) CPUs, anything near 1 leaves the parallel cases one CPU."
    for s in "${SKIPPED[@]}"; do echo; echo "Note: $s."; done
    echo
    echo "Commands (inputs in \$BENCH_DIR/inputs/$(basename "$IN")/, outputs in out/):"
    echo
    echo '```sh'
    for name in "${CASES[@]}"; do
        c=${CMD[$name]//"$IN/"/}
        c=${c//"$OUT/"/out/}
        c=${c//"$OUT"/out}
        c=${c//"$BIN"/ociimport}
        c=${c//"$URL"/http://127.0.0.1:PORT/rootfs.tar.gz}
        [[ -z ${JOBS_URL:-} ]] || c=${c//"$JOBS_URL"/http://127.0.0.1:PORT2}
        printf '# %s\n%s\n' "$name" "$(sed 's/^ *//' <<<"$c")"
    done
    echo '```'
} >"$RESULTS_MD.part"
mv "$RESULTS_MD.part" "$RESULTS_MD"
echo
cat "$RESULTS_MD"
