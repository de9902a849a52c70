"""Progress logging shared by the trainers (training only): one JSON line per record, one printed line."""
from __future__ import annotations

import json
import time


def log_progress(log, record: dict, started: float, total_steps: int) -> None:
    """Append ``record`` (with ``step``, ``minutes``, ``train`` and maybe ``val``) to the run's
    open ``log.jsonl`` and print it with an ETA from the mean time per step so far."""
    log.write(json.dumps(record) + "\n")
    log.flush()
    step = record["step"]
    eta = (time.time() - started) / step * (total_steps - step) / 60
    print(f"step {step}/{total_steps} {record['minutes']:.1f} min eta {eta:.0f} min {record['train']}"
          + (f" val {record['val']}" if "val" in record else ""), flush=True)
