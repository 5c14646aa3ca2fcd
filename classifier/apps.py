from django.apps import AppConfig

from registry.slots import Slot, TaskSlots

DEMO_TRAIN = "python manage.py bootstrap  (or: python manage.py train_classifier --arch {arch} --data DIR --activate)"
# What each slot accepts: the network classifier/networks.py builds (its model.name is the
# architecture) and its convolutional + dense layers (the book's 16 and 152 count differently).
WEIGHT_LAYERS = {"cnn9": 9, "vgg16": 14, "resnet152": 156}


class ClassifierConfig(AppConfig):
    name = "classifier"
    verbose_name = "Image classification"
    # What the registry serves and imports for this app (registry/slots.py), by dotted path.
    slots = TaskSlots(
        "classification",
        slots=tuple(Slot("classification", arch, DEMO_TRAIN.format(arch=arch), weight_layers=layers)
                    for arch, layers in WEIGHT_LAYERS.items()),
        loader="classifier.networks.load_model",
        check="classifier.accepts.check",
        warm="classifier.service.load",
        class_names="classifier.accepts.fit_class_names",
    )
    bootstrap_demo = "classifier.bootstrap.make_demo"
    # The Models page: this app's card (adds per-class accuracy) and its evaluation chart above the cards.
    model_card = "classifier/model_card.html"
    models_page_sections = ("classifier/models_chart.html",)
    # Shared commands: fetch_dataset / make_demo_data find these (see deepboot/datasets.py).
    datasets = {"caltech101": "classifier.datasets.CALTECH101"}
    demo_data = {"classification": "classifier.demo_data.make_demo_data"}
    demo_data_arguments = {
        "classification": [
            ("--per-class", {"type": int, "default": 20, "help": "Images per class (default 20)."}),
        ]
    }
