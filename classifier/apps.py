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
