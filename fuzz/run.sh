#!/usr/bin/env bash
# Run every fuzz target in turn, one core at a time.
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]      (default 600, all targets)
# New inputs go to fuzz/corpus/<target> (not committed); the committed seeds
# in fuzz/seeds/<target> are read too. Crashes land in fuzz/artifacts/<target>.
# Only stable Rust is needed: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z flags.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-600}"; shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(decode_scan checksum_file index_merge signed_checksums)
export RUSTC_BOOTSTRAP=1
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    extra=()
    # Decoders may legitimately reserve their format's window: up to 1 GiB
    # for xz (the memory limit) and 128 MiB for zstd (window_log_max 27).
    [ "$t" = decode_scan ] && extra=(-max_len=65536 -malloc_limit_mb=2304 -rss_limit_mb=3072)
    echo "== $t: ${secs}s"
    cargo fuzz run "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$secs" -timeout=20 -print_final_stats=1 "${extra[@]}"
done
