"""What the /runs/ pages say about a run beyond its record: progress and ETA, its best validation
metric, duration, attempts, key hyper-parameters, and how runs differ. Plain functions of a
`TrainingRun` (or its fields); no requests, no templates."""

from django.utils import timezone

# Shown in the list's hyper-parameter column and offered as filters, when a run has them.
KEY_PARAMETERS = ("epochs", "batch_size", "lr", "learning_rate", "image_size", "two_stage", "folds", "seed", "variant")

# Arguments that say where things are, not how the network learns: left out of comparisons.
NOT_HYPER_PARAMETERS = {"name", "data", "activate", "note"}


def epoch_count(run):
    """Epochs finished, over every stage and attempt."""
    return len(run.epochs)


def planned_epochs(run):
    """The epochs the command line asked for (both stages of two-stage training), or None when the
    command does not count in epochs or the run already went past that (folds, several stages)."""
    epochs = run.arguments.get("epochs") if isinstance(run.arguments, dict) else None
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        return None
    planned = epochs * (2 if run.arguments.get("two_stage") else 1)
    return planned if planned >= epoch_count(run) else None


def elapsed_seconds(run, now=None):
    """Wall time from the first start to the end (or the last record update while unfinished)."""
    end = run.finished or (now or timezone.now() if run.status == "running" else run.updated)
    if not (run.started and end):
        return None
    return max(0.0, (end - run.started).total_seconds())


def attempt_count(run):
    """How many times the command ran for this record: its attempt records, or for a run recorded
    before attempts were, the first start plus each resume."""
    recorded = run.attempts.count() if run.pk else 0
    return recorded or 1 + (run.resumed or 0)


def working_seconds(run, now=None):
    """The wall time the run's processes spent on it: the sum of its attempts' spans, the pauses
    between them left out. A run recorded before attempts were: its whole wall time."""
    attempts = list(run.attempts.all()) if run.pk else []
    if not attempts:
        return elapsed_seconds(run, now)
    last = run.finished or (now or timezone.now() if run.status == "running" else run.updated)
    return sum(max(0.0, ((a.finished or last) - a.started).total_seconds()) for a in attempts)


def progress(run, now=None):
    """Epoch k of N, mean seconds per epoch and, while it runs, the seconds left at that pace.

    The pace is the time the run's attempts worked over its epochs (a resumed run's pause is not
    counted)."""
    done, planned = epoch_count(run), planned_epochs(run)
    elapsed = elapsed_seconds(run, now)
    working = working_seconds(run, now)
    per_epoch = working / done if done and working is not None else None
    eta = None
    if run.status == "running" and per_epoch is not None and planned:
        eta = per_epoch * (planned - done)
    return {"epoch": done, "of": planned, "seconds_per_epoch": per_epoch, "eta_seconds": eta, "elapsed_seconds": elapsed}


def best_validation(run):
    """(metric, value, epoch) of the run's headline validation metric: the highest val_accuracy
    (or another val_ score), else the lowest val_loss; None without validation metrics."""
    names = sorted({k for e in run.epochs for k, v in e.items() if k.startswith("val_") and _number(v)})
    if not names:
        return None
    scores = [n for n in names if "loss" not in n]
    name = "val_accuracy" if "val_accuracy" in names else (scores[0] if scores else ("val_loss" if "val_loss" in names else names[0]))
    pick = min if "loss" in name else max
    entry = pick((e for e in run.epochs if _number(e.get(name))), key=lambda e: e[name])
    return {"metric": name, "value": entry[name], "epoch": entry["epoch"]}


def key_parameters(run):
    args = run.arguments if isinstance(run.arguments, dict) else {}
    return {k: args[k] for k in KEY_PARAMETERS if k in args and args[k] is not None}


def hyper_parameters(run):
    args = run.arguments if isinstance(run.arguments, dict) else {}
    return {k: v for k, v in args.items() if k not in NOT_HYPER_PARAMETERS}


def differing_parameters(runs):
    """[(name, [value per run])] for every hyper-parameter whose value is not the same in all runs
    (a parameter one run lacks counts as differing); sorted by name."""
    params = [hyper_parameters(run) for run in runs]
    names = sorted(set().union(*params)) if params else []
    missing = object()
    rows = []
    for name in names:
        values = [p.get(name, missing) for p in params]
        if any(v is missing or v != values[0] for v in values):
            rows.append((name, [None if v is missing else v for v in values]))
    return rows


def final_metrics(run):
    """The last value of each metric the run recorded (what the compare view puts side by side)."""
    last = {}
    for entry in run.epochs:
        last.update({k: v for k, v in entry.items() if k not in ("epoch", "stage") and _number(v)})
    return last


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)
