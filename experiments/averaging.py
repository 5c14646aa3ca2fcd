"""The averaging experiment's computed variant: the mean of the member classifiers' softmax
outputs on the test split they share (trained with the same --seed, so the same split), scored
by classifier/evaluate.py as evaluate_classifier scores the site's average. The members are
loaded from their registry entries, not activated."""

import json
import tempfile
from pathlib import Path


def average_top1(records, data):
    """Top-1 accuracy of the average of `records` (TrainedModel rows of one seed) on their test split."""
    from classifier import data as data_module
    from classifier.networks import load_model
    from classifier.evaluate import Network, evaluate
    from registry import registry

    split = json.loads(registry.absolute_path(records[0].training_run["split_file"]).read_text())
    dataset = data_module.scan_folder(data)
    items = data_module.items_from_paths(dataset, split["test"])
    members = [Network(r.architecture, load_model(registry.absolute_path(r.path)),
                       r.input_size[0], r.pk) for r in records]
    with tempfile.TemporaryDirectory() as scratch:
        result = evaluate(members, Path(dataset.root), items, dataset.classes, scratch, description="the test split")
    return result["average"]["top1"]
