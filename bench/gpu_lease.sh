#!/usr/bin/env bash
# One prepared run of bench/gpu.py on a lent CUDA machine (a 15-minute lease: about
# 10 minutes for this command). Here, first: `make gpu-wheels` (the packages that
# machine lacks, as wheels in .whl/). Then run, from the repo root, on the device:
#
#     bash bench/gpu_lease.sh            (carry: .whl)
#
# Phase 1: build the full-size sd-turbo architecture (random weights) once into
# /tmp/sd, load it through the kiosk's Generator and Judge, time the engine, the judge,
# the full and the tiny decoder side by side (per stage) and the eager pipeline
# (contiguous and channels_last, batches 1-8).
# Phase 2: the compiled pipeline (generator.compile = default, channels_last, batch
# sizes 1, 2, 4): the start-up compile of each, their figures, then the engine on it.
# Each phase has its own time limit, and gpu.py rewrites its JSON after each section,
# so a phase cut short still returns what it measured. Last, --merge prints the
# recommended [generator] settings over both phases and one SUMMARY line.
#
# Everything lands in $OUT (the device tool returns it): phase logs and JSON.
# TINY=1 WHEELS=0 PYTHON=.venv/bin/python: the same steps with --tiny, on CPU here.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/kiosk-gpu-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TORCHINDUCTOR_CACHE_DIR=/tmp/kiosk-inductor
PY=${PYTHON:-python3}
if [ "${WHEELS:-1}" = 1 ] && ls .whl/*.whl >/dev/null 2>&1; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/kiosk-site .whl/*.whl || exit 2
    export PYTHONPATH=/tmp/kiosk-site
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # kiosk and scoring, not installed
tiny=()
[ "${TINY:-0}" = 1 ] && tiny=(--tiny --iters 2 --batches 1,2)
{ nvidia-smi -L 2>/dev/null || echo "no nvidia-smi"; "$PY" -c 'import torch, diffusers, open_clip; print("torch", torch.__version__, "cuda", torch.cuda.is_available(), "diffusers", diffusers.__version__, "open_clip", open_clip.__version__)'; } \
    2>&1 | tee "$OUT/machine.txt"

timeout "${PHASE1_S:-240}" "$PY" bench/gpu.py "${tiny[@]}" --no-compile --cache /tmp/kiosk-sd \
    --out-json "$OUT/eager.json" 2>&1 | tee "$OUT/eager.log"
batches=()
[ "${TINY:-0}" = 1 ] || batches=(--batches 1,2,4)  # 3 compiles (1, 2, 4) fit the phase
timeout "${PHASE2_S:-330}" "$PY" bench/gpu.py "${tiny[@]}" "${batches[@]}" --compiled-only \
    --layouts channels_last --cache /tmp/kiosk-sd --out-json "$OUT/compiled.json" 2>&1 \
    | tee "$OUT/compiled.log"
"$PY" bench/gpu.py --merge "$OUT/eager.json" "$OUT/compiled.json" 2>&1 | tee "$OUT/summary.txt"
