from django.apps import AppConfig

from registry.slots import Slot, TaskSlots

YOLO26_TRAIN = (
    "python manage.py train_detector --variant yolo26 --data var/data/voc2007 --epochs 135 --mixed-precision "
    "--activate  (on a GPU host, after: python manage.py fetch_dataset voc2007)"
)


class DetectorConfig(AppConfig):
    name = "detector"
    verbose_name = "Object detection"
    # What the registry serves and imports for this app (registry/slots.py), by dotted path.
    slots = TaskSlots(
        "detection",
        slots=(
            Slot(  # tiny's layer count follows its input size
                "detection",
                "tiny",
                "python manage.py bootstrap  (or: python manage.py train_detector --variant tiny --data DIR --activate)",
            ),
            Slot("detection", "yolo26", YOLO26_TRAIN, weight_layers=26),
        ),
        loader="detector.networks.load_model",
        check="detector.accepts.check",
        warm="detector.service.warm",
        class_names="detector.accepts.fit_class_names",
    )
    bootstrap_demo = "detector.bootstrap.make_demo_detector"
    # Shared commands: fetch_dataset / make_demo_data find these (see deepboot/datasets.py).
    datasets = {"voc2007": "detector.datasets.VOC2007", "voc2007test": "detector.datasets.VOC2007_TEST"}
    demo_data = {"detection": "detector.demo_data.make_demo_data"}
    demo_data_arguments = {
        "detection": [
            ("--images", {"type": int, "default": 1000, "help": "Scenes to generate (default 1000)."}),
        ]
    }
