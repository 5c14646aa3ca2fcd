"""make_demo_data KIND --dest DIR: a generated data set in a real data set's layout, offline.

The kinds are declared by the apps on their AppConfig:

    demo_data = {"classification": "classifier.demo_data.make_demo_data"}
    demo_data_arguments = {"classification": [("--per-class", {"type": int, "default": 20, "help": "…"})]}

The function is called as `make_demo_data(dest: Path, *, seed: int, stdout, **options)`, where
`options` holds exactly the kind's own arguments (by their argparse `dest`, e.g. `per_class`).
Arguments with the same flag in two kinds are declared once (the first one wins), and each
kind still receives its value.
"""

import time
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import import_string


def demo_kinds():
    """{kind: (dotted path of the maker, [(flag, argparse kwargs), …])} over every installed app."""
    kinds = {}
    for config in apps.get_app_configs():
        arguments = getattr(config, "demo_data_arguments", {}) or {}
        for kind, maker in (getattr(config, "demo_data", {}) or {}).items():
            kinds[kind] = (maker, list(arguments.get(kind, [])))
    return kinds


def option_dest(flag, kwargs):
    return kwargs.get("dest") or flag.lstrip("-").replace("-", "_")


class Command(BaseCommand):
    help = (
        "Generate a demo data set (class folders of images, or images with annotations) in the layout "
        "of the real data set, so training and the site work offline on a CPU."
    )

    def add_arguments(self, parser):
        kinds = demo_kinds()
        parser.add_argument("kind", choices=sorted(kinds), help="Which demo data set: " + ", ".join(sorted(kinds)))
        parser.add_argument("--dest", type=Path, help="Output folder (default var/data/demo-KIND).")
        parser.add_argument("--seed", type=int, default=0, help="Random seed: same seed, same images.")
        parser.add_argument("--force", action="store_true", help="Replace DEST if it already holds files.")
        declared = set()
        for kind in sorted(kinds):
            for flag, kwargs in kinds[kind][1]:
                if flag in declared:
                    continue
                declared.add(flag)
                kwargs = dict(kwargs)
                kwargs["help"] = f"({kind}) " + kwargs.get("help", "")
                parser.add_argument(flag, **kwargs)

    def handle(self, *args, **options):
        kind = options["kind"]
        maker_path, arguments = demo_kinds()[kind]
        dest = Path(options["dest"] or Path(settings.DATA_DIR) / f"demo-{kind}").resolve()
        if dest.exists() and any(dest.iterdir()):
            if not options["force"]:
                raise CommandError(f"{dest} already holds files; pass --force to replace them.")
            import shutil

            shutil.rmtree(dest)
        dest.mkdir(parents=True, exist_ok=True)
        own = {option_dest(flag, kwargs): options[option_dest(flag, kwargs)] for flag, kwargs in arguments}
        started = time.monotonic()
        self.stdout.write(f"Making the {kind} demo data in {dest} (seed {options['seed']})")
        try:
            import_string(maker_path)(dest, seed=options["seed"], stdout=self.stdout, **own)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Demo data ready in {dest} ({time.monotonic() - started:.1f}s)"))
