#!/usr/bin/env bash
# The GAN issue's part 2 as a question of compute: one stage-1 variant trained to each length in
# STEPS (one run extended: benchmarks/bench_gan_levers.py resumes its checkpoint and keeps each
# length's figures in levers-STEPS.json), the generator metrics on the validation images at
# each length, then the table with the issue's targets checked (scripts/gan_scaling_table.py).
# Prepared for a GPU (the config's device, auto, takes it); on the 2-core CPU the default
# variant runs at about 0.56 s a step with both cores, so 2,100 steps are the 20-minute budget.
#
#   scripts/gan_scaling.sh ../shared/data/cifar10-jpg.tar.gz [OUT [BENCH_ARGS...]]
#   STEPS="2100 4200" THREADS=1 NAME=mode-seeking scripts/gan_scaling.sh SOURCE runs/gan-levers \
#       --set gan.diff_augment=translation,cutout --set gan.mode_seeking_weight=1.0
#
# Without BENCH_ARGS the variant is the best row by the ImageNet probe at the CPU budget: the
# projected D at 32 px with the hinge loss (docs/experiments/2026-12-02-gan-levers.md).
set -euo pipefail

source=${1:?usage: scripts/gan_scaling.sh SOURCE [OUT [BENCH_ARGS...]]}
out=${2:-runs/gan-levers}
shift $(( $# < 2 ? $# : 2 ))
here=$(cd "$(dirname "$0")/.." && pwd)
name=${NAME:-proj32-hinge-scale}
if [ $# -eq 0 ]; then
    set -- --set gan.discriminator=projected --set gan.feature_size=32 \
        --set gan.diff_augment=translation,cutout --set gan.ema_decay=0.999 \
        --set gan.mode_seeking_weight=1.0 --set gan.loss=hinge
fi

for steps in ${STEPS:-2100 4200 8400}; do
    python "$here/benchmarks/bench_gan_levers.py" --source "$source" --out "$out" \
        --name "$name" --steps "$steps" --threads "${THREADS:-2}" --pixel-probe "$@"
    cp "$out/$name/synthetic_grid.png" "$out/$name/synthetic_grid-$steps.png"
done
python "$here/scripts/gan_scaling_table.py" "$out/$name" | tee "$out/$name/scaling.md"
