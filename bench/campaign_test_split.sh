#!/bin/sh
# The campaign's candidate against ae-factorized-v1 and AVIF in real files on the photo corpus's
# *test* split (never Kodak for selection). Run from the repository root:
#     sh bench/campaign_test_split.sh runs/fid-ctx-decay2
# writes bench/results/campaign/test_split/ (report.md, summary.json, bdrate.json, records.csv).
#
# Images: every 4th test-split entry of ../shared/data/photos/MANIFEST.tsv (36 of 142), decoded
# once to PNG (gzc-bench takes lossless sources only). The candidate is exported outside weights/
# with the trained prior's densities (--no-count-tables: counting the tables on every training
# image takes about an hour here, and prices latents about 1 % lower), and read through
# GZC_WEIGHTS_DIR. One torch thread per encode.
set -e
run=${1:?usage: sh bench/campaign_test_split.sh RUN_FOLDER}
work=$(mktemp -d)
mkdir -p "$work/png" "$work/weights"
awk -F'\t' 'NR > 1 && $2 == "test" { print $1 }' ../shared/data/photos/MANIFEST.tsv | awk 'NR % 4 == 1' |
while read -r f; do
    python3 -c "import sys; from PIL import Image; Image.open(sys.argv[1]).convert('RGB').save(sys.argv[2])" \
        "../shared/data/photos/$f" "$work/png/$(echo "$f" | tr '/' '_' | sed 's/\.[^.]*$//').png"
done
gzc-train export-autoencoder --run "$run" --name ae-fidelity-context-c1 --out "$work/weights" --no-count-tables
out=bench/results/campaign/test_split
gzc-bench --images "$work/png" --codecs gzc:ae-factorized-v1,avif --out "$out" --no-speed --threads 1 --fresh
GZC_WEIGHTS_DIR="$work/weights" gzc-bench --images "$work/png" --codecs gzc:ae-fidelity-context-c1 \
    --out "$out" --no-speed --threads 1
python3 - "$out" <<'PY'
import json, sys
from gzc.tools.bench.bdrate import bd_rate
codecs = json.load(open(f"{sys.argv[1]}/summary.json"))["codecs"]
v1, c1 = codecs["gzc:ae-factorized-v1"], codecs["gzc:ae-fidelity-context-c1"]
for metric in ("psnr", "msssim_db"):
    print(f"BD-rate of the candidate against ae-factorized-v1 ({metric}): "
          f"{bd_rate([p['bpp'] for p in v1], [p[metric] for p in v1], [p['bpp'] for p in c1], [p[metric] for p in c1]):.2f} %")
PY
