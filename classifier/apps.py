from django.apps import AppConfig

from deepboot_site.slots import Slot

DEMO_TRAIN = "python manage.py bootstrap  (or: python manage.py train_classifier --arch {arch} --data DIR --activate)"


class ClassifierConfig(AppConfig):
    name = "classifier"
    verbose_name = "Image classification"
    model_slots = [
        Slot("classification", arch, DEMO_TRAIN.format(arch=arch))
        for arch in ("cnn9", "vgg16", "resnet152")
    ]
    bootstrap_demo = "classifier.bootstrap.make_demo"
    # Shared commands: fetch_dataset / make_demo_data find these (see deepboot_site/downloads.py).
    datasets = {"caltech101": "classifier.datasets.CALTECH101"}
    demo_data = {"classification": "classifier.demo_data.make_demo_data"}
    demo_data_arguments = {
        "classification": [
            ("--per-class", {"type": int, "default": 20, "help": "Images per class (default 20)."}),
        ]
    }
