"""run_experiment NAME: one of the book's comparisons, each variant trained over the seeds with the
app's own train_* command and recorded (see experiments/runner.py); the table at the end and on
/experiments/NAME/."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from experiments import catalogue, runner, stats


class Command(BaseCommand):
    help = ("Run one of the book's experiments: train each variant over --seeds seeds with the train_* "
            "commands (registered, not activated), record every run, and store the table of mean ± std "
            "per variant and the differences, shown on /experiments/NAME/.")

    def add_arguments(self, parser):
        parser.add_argument("name", metavar="NAME", choices=catalogue.NAMES,
                            help=f"One of: {', '.join(catalogue.NAMES)}.")
        parser.add_argument("--data", type=Path,
                            help="The data folder: DIR/<class>/<image> for the classifier experiments, a VOC folder "
                            "for detector-schedule; not used by qlearning-vs-dqn.")
        parser.add_argument("--seeds", type=int, default=3, help="Seeds 0..N-1, one run per variant each. Default 3.")
        parser.add_argument("--quick", action="store_true",
                            help="Sized for the demo data on a CPU: small images, few epochs or episodes (minutes).")

    def handle(self, *args, **options):
        name = options["name"]
        try:
            result = runner.run_experiment(name, options["data"], options["seeds"], options["quick"],
                                           stdout=self.stdout, verbosity=options["verbosity"])
        except runner.ExperimentError as exc:
            raise CommandError(str(exc)) from exc
        experiment = catalogue.EXPERIMENTS[name]
        names = [v.name for v in experiment.variants_for(result.quick)]
        rows, differences = stats.result_table(
            result.measurements, names, {v.name: experiment.metric_of(v) for v in experiment.variants_for(result.quick)})
        self.stdout.write(self.style.SUCCESS(f"Experiment {name} #{result.pk} finished ({experiment.metric_label}):"))
        for row in rows:
            self.stdout.write(f"  {row.variant:>24}: {stats.format_summary(row.summary)}  (n={row.summary.n})")
        for diff in differences:
            self.stdout.write(f"  {diff.variant} - {diff.baseline}: {stats.format_summary(diff.summary, signed=True)}")
        self.stdout.write(f"See /experiments/{name}/")
