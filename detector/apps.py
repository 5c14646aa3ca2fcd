from django.apps import AppConfig

from deepboot_site.slots import Slot


class DetectorConfig(AppConfig):
    name = "detector"
    verbose_name = "Object detection"
    model_slots = [
        Slot(
            "detection",
            "tiny",
            "python manage.py bootstrap  (or: python manage.py train_detector --variant tiny --data DIR --activate)",
        ),
    ]
