"""What every trainer's run folder needs, written once: checkpoint, resume, config, log.

A run folder holds ``checkpoint.pt`` (the full state, replaced atomically, so a
crash never leaves half a checkpoint), ``config.json``, ``log.jsonl`` (one JSON
object per logged step) and, when a resume changes a setting,
``history.jsonl``. Starting a trainer again on the same folder resumes from
the checkpoint. The checkpoint is our own file, written by
:func:`save_checkpoint`: it is trusted, so it is loaded with full unpickling
(numpy random generators are stored pickled), unlike shipped weights, which
are safetensors only.
"""
from __future__ import annotations

import json
import math
import os
import pickle
import time
from dataclasses import asdict
from pathlib import Path

import torch

CHECKPOINT = "checkpoint.pt"


def checkpoint_path(run_dir: Path) -> Path:
    return Path(run_dir) / CHECKPOINT


def save_checkpoint(state: dict, path: Path) -> None:
    """Write ``state`` to ``path`` atomically (a temporary file, then a rename)."""
    tmp = Path(path).with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict | None:
    """The checkpoint at ``path`` (tensors on the CPU, whatever device wrote them), or None."""
    if not Path(path).exists():
        return None
    return torch.load(path, weights_only=False, map_location="cpu")   # our own file: see the module doc


def restore(state: dict, **objects) -> None:
    """Load each ``name=module_or_optimizer`` from ``state[name]`` (its ``state_dict``)."""
    for key, obj in objects.items():
        obj.load_state_dict(state[key])


def pack_rng(rng) -> bytes:
    """A numpy random generator as checkpoint bytes (:func:`unpack_rng` restores it)."""
    return pickle.dumps(rng)


def unpack_rng(data: bytes):
    return pickle.loads(data)


def write_config(run_dir: Path, cfg) -> None:
    (Path(run_dir) / "config.json").write_text(json.dumps(asdict(cfg), indent=2))


def record_changes(run_dir: Path, step: int, old: dict, new: dict, keys=None) -> dict:
    """Settings that differ between a checkpoint's config ``old`` and this start's ``new``
    (only ``keys``, if given), appended to ``history.jsonl``; returns them (old, new)."""
    changed = {k: [old.get(k), v] for k, v in new.items() if (keys is None or k in keys) and old.get(k) != v}
    if changed:
        with open(Path(run_dir) / "history.jsonl", "a") as f:
            f.write(json.dumps({"step": step, "changed": changed}) + "\n")
    return changed


def learning_rate(cfg, step: int) -> float:
    """Linear warm-up over ``cfg.warmup`` steps, then cosine decay from ``cfg.lr`` to ``cfg.lr_final``
    at ``cfg.steps``."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
    return cfg.lr_final + 0.5 * (cfg.lr - cfg.lr_final) * (1 + math.cos(math.pi * t))


def log_progress(log, record: dict, started: float, total_steps: int) -> None:
    """Append ``record`` (with ``step``, ``minutes``, ``train`` and maybe ``val``) to the run's
    open ``log.jsonl`` and print it with an ETA from the mean time per step so far."""
    log.write(json.dumps(record) + "\n")
    log.flush()
    step = record["step"]
    eta = (time.time() - started) / step * (total_steps - step) / 60
    print(f"step {step}/{total_steps} {record['minutes']:.1f} min eta {eta:.0f} min {record['train']}"
          + (f" val {record['val']}" if "val" in record else ""), flush=True)


def snapshot(run_dir: Path, out: Path, note: str = "") -> dict:
    """Save a run's model weights, and nothing else, so a long campaign can resume on another
    machine from the repository: ``OUT.safetensors`` (float16: half the bytes, and a resume
    re-casts to float32 at once) and ``OUT.json`` (the run's config, step, CPU time and last
    validation). Resume with the trainer's ``--init OUT.safetensors`` and the same options;
    the optimiser state and the data order start afresh (kept out of git on purpose)."""
    from safetensors.torch import save_file

    state = load_checkpoint(checkpoint_path(run_dir))
    if state is None:
        raise FileNotFoundError(f"no {CHECKPOINT} in {run_dir}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to(torch.float16).contiguous() for k, v in state["model"].items()}
    save_file(tensors, str(out.with_suffix(".safetensors")))
    log = [json.loads(line) for line in (Path(run_dir) / "log.jsonl").read_text().splitlines()]
    validations = [r for r in log if "val" in r]
    record = {"step": state["step"], "hours": round(state["elapsed"] / 3600, 3), "config": state["config"],
              "last_validation": validations[-1] if validations else None,
              "validation_trajectory": [{"step": r["step"], "minutes": r["minutes"], "val": r["val"]}
                                        for r in validations],
              "note": note}
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    return record
