"""What the benchmark scripts share: the shipped checkpoint with its training record, a timed fresh run,
and writing the JSON (atomically)."""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from jepa_lab.checkpoint import atomic_write_text, load_checkpoint
from jepa_lab.weights.pretrained import load_pretrained, pretrained_path
from jepa_lab.train.jepa import train


def shipped_run(name: str) -> tuple[object, dict]:
    """The shipped checkpoint ``name`` (e.g. "ijepa_tiny") and the training record stored inside it."""
    path = pretrained_path(name)
    ckpt = load_checkpoint(path)
    record = ckpt.get("metrics", {})
    info = {"source": str(path), "train_steps": ckpt["step"],
            "train_seconds": float(record.get("train_seconds", float("nan"))),
            "train_steps_per_second": float(record.get("train_steps_per_second", float("nan")))}
    return load_pretrained(name), info


def fresh_run(cfg, preset: str, steps: int | None) -> tuple[object, dict]:
    """Train ``cfg`` (the preset's config) from scratch in a temporary folder; this is the timed part."""
    if steps is not None:
        cfg = replace(cfg, optim=replace(cfg.optim, steps=steps))
    with tempfile.TemporaryDirectory() as tmp:
        result = train(cfg, Path(tmp), resume=False, ckpt_every=10**9, progress=sys.stderr.isatty())
    info = {"source": f"trained now: preset {preset}, {result.steps_run} steps", "train_steps": result.steps_run,
            "train_seconds": result.seconds, "train_steps_per_second": result.steps_per_second}
    return result.model.eval(), info


def write_json(path: Path, results: dict) -> None:
    atomic_write_text(path, json.dumps(results, indent=2))
    print(f"wrote {path}", file=sys.stderr)
