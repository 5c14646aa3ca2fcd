"""The state a killed DQN or dqn-teacher run resumes from, saved at each evaluation: its networks
(the online one with its optimizer's state), its replay memory and its loop counters, so the run
started again goes on exactly as if it had not stopped (the same result as an uninterrupted run)."""

import json
import shutil
from pathlib import Path

import numpy as np


def _build_optimizer(networks):
    online = networks["online"]
    if not online.optimizer.built:
        online.optimizer.build(online.trainable_variables)


def save_state(folder, state, networks, memory):
    """Write `state` (JSON), `networks` ({name: model}, "online" the compiled one) and `memory`
    ({name: array}) to `folder`, atomically: a run killed while writing keeps the previous state."""
    folder = Path(folder)
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    _build_optimizer(networks)
    for name, model in networks.items():
        model.save_weights(partial / f"{name}.weights.h5")  # the online one with the optimizer's state
    np.savez(partial / "memory.npz", **memory)
    (partial / "state.json").write_text(json.dumps(state))
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)


def load_state(folder, networks):
    """(state, memory arrays) saved in `folder`, the networks restored in place; None where the
    folder holds no state (a new run)."""
    folder = Path(folder)
    if not (folder / "state.json").exists():
        return None
    _build_optimizer(networks)
    for name, model in networks.items():
        model.load_weights(folder / f"{name}.weights.h5")
    with np.load(folder / "memory.npz") as arrays:
        memory = {name: arrays[name] for name in arrays.files}
    return json.loads((folder / "state.json").read_text()), memory
