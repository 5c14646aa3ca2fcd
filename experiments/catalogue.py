"""The book's experiments: what each compares, with which `train_*` flags, and what the book says
to expect. Pure data (no Django): the runner (experiments/runner.py) turns it into training runs.

Each experiment's variants share its common flags; `--quick` swaps those for a setting that
finishes in minutes on the demo data and a CPU (small images, few epochs or episodes). The first
variant is the baseline the others are compared with. A variant with `trained=False` is computed
from the others (the model average) rather than trained.
"""

from dataclasses import dataclass, field

CLASSIFICATION, TICTACTOE, DETECTION = "classification", "tictactoe", "detection"

# Flags of every classifier experiment: the book's full runs, and the quick ones for the demo data
# (the demo cnn9's recipe in classifier/bootstrap.py).
CLASSIFIER_FULL = ("--image-size", "224", "--epochs", "60", "--batch-size", "32", "--patience", "10")
CLASSIFIER_QUICK = ("--image-size", "48", "--epochs", "8", "--batch-size", "16", "--patience", "8")


@dataclass(frozen=True)
class Variant:
    name: str
    arguments: tuple = ()
    """Flags for the experiment's train command, after the common ones ("{unlabelled}" is filled in)."""
    metric: str = ""
    """The registry metric of the variant's model that the table compares (default: the experiment's)."""
    trained: bool = True


@dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    kind: str
    """classification, tictactoe or detection: the data it needs and the command it trains with."""
    command: str
    metric: str
    metric_label: str
    book: str
    """One sentence: what the book says to expect."""
    variants: tuple
    full: tuple = ()
    """Common flags of a full run."""
    quick: tuple = ()
    """Common flags of a --quick run."""
    quick_variants: tuple = field(default=())
    """The variants of a --quick run when they differ (fewer members, fewer epochs); default: `variants`."""
    lower_is_better: bool = False

    def variants_for(self, quick):
        return self.quick_variants if quick and self.quick_variants else self.variants

    def common_arguments(self, quick):
        return self.quick if quick else self.full

    def metric_of(self, variant):
        return variant.metric or self.metric

    @property
    def needs_data(self):
        return self.kind != TICTACTOE


def _classifier(name, title, book, variants, metric="test_top1", metric_label="test top-1 accuracy", **extra):
    return Experiment(name, title, CLASSIFICATION, "train_classifier", metric, metric_label, book, variants,
                      full=CLASSIFIER_FULL, quick=CLASSIFIER_QUICK, **extra)


CNN9 = ("--arch", "cnn9")
AUGMENT_ALL = "flip,shift,rotate,zoom,color"

EXPERIMENTS = {e.name: e for e in (
    _classifier(
        "augmentation", "With and without augmentation",
        "Augmentation (flips, shifts, rotations, zooms, colour) lifts the test accuracy of a network trained "
        "from scratch on few images per class, because each epoch shows it new versions of the same pictures.",
        (Variant("without augmentation", CNN9 + ("--augment", "none")),
         Variant("with augmentation", CNN9 + ("--augment", AUGMENT_ALL)))),
    _classifier(
        "two-stage", "One-stage against two-stage fine-tuning",
        "Training the new head on a frozen pre-trained base first, then fine-tuning everything at a lower rate, "
        "keeps the first large gradients from wrecking the pre-trained features and ends more accurate.",
        (Variant("one stage", ("--arch", "vgg16", "--weights", "imagenet")),
         Variant("two stages", ("--arch", "vgg16", "--weights", "imagenet", "--two-stage"))),
        quick_variants=(Variant("one stage", ("--arch", "vgg16", "--weights", "none")),
                        Variant("two stages", ("--arch", "vgg16", "--weights", "none", "--two-stage")))),
    _classifier(
        "optimizers", "Optimizers against each other",
        "Adaptive optimizers (Adagrad, RMSprop, Adam) reach a good accuracy in fewer epochs than plain SGD; "
        "with enough epochs and a tuned rate, SGD catches up.",
        tuple(Variant(opt, CNN9 + ("--optimizer", opt)) for opt in ("sgd", "adagrad", "rmsprop", "adam"))),
    _classifier(
        "self-training", "The gain from self-training",
        "Pseudo-labelling unlabelled images with the model's confident predictions and training again gains "
        "a little accuracy when the first model is already fairly good.",
        (Variant("labelled images only", CNN9),
         Variant("self-training", CNN9 + ("--self-training", "{unlabelled}")))),
    _classifier(
        "averaging", "The gain from averaging models",
        "Averaging the softmax outputs of several different networks is more accurate than the best of them "
        "alone, because their mistakes differ.",
        (Variant("cnn9", CNN9), Variant("vgg16", ("--arch", "vgg16")), Variant("resnet152", ("--arch", "resnet152")),
         Variant("average", trained=False)),
        quick_variants=(Variant("cnn9", CNN9), Variant("vgg16", ("--arch", "vgg16")),
                        Variant("average", trained=False))),
    _classifier(
        "validation", "Hold-out against K-fold estimates",
        "A K-fold estimate of the accuracy averages K scores and so varies less from one split to another than "
        "a single hold-out score.",
        (Variant("hold-out", CNN9, metric="val_accuracy"),
         Variant("5-fold", CNN9 + ("--folds", "5"), metric="cv_val_accuracy_mean")),
        metric="val_accuracy", metric_label="estimated accuracy",
        quick_variants=(Variant("hold-out", CNN9, metric="val_accuracy"),
                        Variant("3-fold", CNN9 + ("--folds", "3"), metric="cv_val_accuracy_mean"))),
    Experiment(
        "qlearning-vs-dqn", "Tabular Q-learning against a DQN", TICTACTOE, "train_tictactoe",
        "lost_lines", "lost lines (exhaustive check; lower is better)",
        "Tabular Q-learning learns tic-tac-toe from tens of thousands of games; a DQN generalises across "
        "positions and gets there in fewer games, at a higher cost per game.",
        (Variant("qlearning", ("--algo", "qlearning")), Variant("dqn", ("--algo", "dqn"))),
        full=("--eval-games", "10000"),
        quick=("--eval-games", "500"),
        quick_variants=(Variant("qlearning", ("--algo", "qlearning", "--episodes", "5000", "--eval-every", "1000")),
                        Variant("dqn", ("--algo", "dqn", "--episodes", "600", "--eval-every", "100"))),
        lower_is_better=True),
    Experiment(
        "detector-schedule", "Tiny YOLO: epochs against mAP", DETECTION, "train_detector",
        "map50", "mAP@0.5",
        "A detector keeps improving with a longer schedule long after a classifier would have converged; "
        "the original YOLO trained for 135 epochs.",
        tuple(Variant(f"{n} epochs", ("--epochs", str(n))) for n in (25, 50, 100)),
        full=("--variant", "tiny", "--patience", "0"),
        # --quick: the demo detector's own recipe (bootstrap), cut short at 3 epochs or run its 10.
        quick=("--variant", "tiny", "--patience", "0", "--batch-size", "32", "--lr", "3e-3"),
        quick_variants=tuple(Variant(f"{n} epochs", ("--epochs", str(n))) for n in (3, 10))),
)}

NAMES = tuple(EXPERIMENTS)


def command_line(name, data=None, seeds=None, quick=False):
    """The command that runs experiment `name` (DIR when the data folder is not known yet)."""
    parts = ["python manage.py run_experiment", name]
    if EXPERIMENTS[name].needs_data:
        parts += ["--data", data or "DIR"]
    if seeds:
        parts += ["--seeds", str(seeds)]
    if quick:
        parts.append("--quick")
    return " ".join(parts)
