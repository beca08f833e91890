#!/usr/bin/env bash
# One prepared run of bench/gpu.py on a lent CUDA machine (a 15-minute lease: about
# 10 minutes for this command). Here, first: `make gpu-wheels` (the packages that
# machine lacks, as wheels in .whl/). Then run, from the repo root, on the device:
#
#     bash bench/gpu_lease.sh            (carry: .whl)
#
# It builds the full-size sd-turbo architecture (random weights) once into /tmp/kiosk-sd,
# loads it through the kiosk's Generator and Judge, and times the engine (submit -> Done,
# then a burst) and one call of the model thread (draw, then judge) at batch 1, 4 and 8
# with the full and the tiny decoder. gpu.py rewrites its JSON after each section, so a
# run cut short by the time limit still returns what it measured.
#
# Everything lands in $OUT (the device tool returns it): the log and the JSON.
# TINY=1 WHEELS=0 PYTHON=.venv/bin/python: the same steps with --tiny, on CPU here.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/kiosk-gpu-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
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

timeout "${RUN_S:-540}" "$PY" bench/gpu.py "${tiny[@]}" --cache /tmp/kiosk-sd \
    --out-json "$OUT/gpu.json" 2>&1 | tee "$OUT/gpu.log"
