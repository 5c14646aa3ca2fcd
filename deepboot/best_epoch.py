"""The best epoch of a fit, kept across a resume.

Keras' ModelCheckpoint(save_best_only=True) starts every fit at -inf, so the first epoch after a
resume (BackupAndRestore) overwrote the best epoch of the attempts before the kill, while the
run's recorded history (`hooks.earlier_epochs`) still named that earlier epoch as the best: the
kept model and its reported score disagreed. `best_epoch_checkpoint` starts the checkpoint from
the best score the earlier attempts recorded, so its file keeps their best epoch until a later
epoch beats it.
"""


def earlier_best(hooks, stage, monitor):
    """The best `monitor` score the earlier attempts of `stage` recorded (None: no earlier attempt)."""
    scores = [row[monitor] for row in hooks.earlier_epochs(stage) if row.get(monitor) is not None]
    return max(scores) if scores else None


def best_epoch_checkpoint(path, hooks, stage, monitor, **options):
    """A ModelCheckpoint that saves to `path` each epoch whose `monitor` beats every earlier one,
    the earlier attempts' epochs included. Its `best` after the fit is the kept epoch's score."""
    import keras

    return keras.callbacks.ModelCheckpoint(
        str(path), monitor=monitor, mode="max", save_best_only=True,
        initial_value_threshold=earlier_best(hooks, stage, monitor), **options,
    )
