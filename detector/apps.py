from django.apps import AppConfig

from registry.slots import Slot

YOLO26_TRAIN = (
    "python manage.py train_detector --variant yolo26 --data var/data/voc2007 --epochs 135 --mixed-precision "
    "--activate  (on a GPU host, after: python manage.py fetch_dataset voc2007)"
)


class DetectorConfig(AppConfig):
    name = "detector"
    verbose_name = "Object detection"
    model_slots = [
        Slot(
            "detection",
            "tiny",
            "python manage.py bootstrap  (or: python manage.py train_detector --variant tiny --data DIR --activate)",
            custom_objects=("detector.networks",),  # tiny's layer count follows its input size
        ),
        Slot("detection", "yolo26", YOLO26_TRAIN, weight_layers=26, custom_objects=("detector.networks",)),
    ]
    bootstrap_demo = "detector.bootstrap.make_demo_detector"
    # Shared commands: fetch_dataset / make_demo_data find these (see deepboot/datasets.py).
    datasets = {"voc2007": "detector.datasets.VOC2007", "voc2007test": "detector.datasets.VOC2007_TEST"}
    demo_data = {"detection": "detector.demo_data.make_demo_data"}
    demo_data_arguments = {
        "detection": [
            ("--images", {"type": int, "default": 1000, "help": "Scenes to generate (default 1000)."}),
        ]
    }
