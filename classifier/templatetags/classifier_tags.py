"""{% classification_evaluation as evaluation %}: the latest evaluate_classifier result, for the
Models page, with the model ids it measured and how the active models differ from them since."""

from django import template

from classifier import service
from registry import registry

register = template.Library()


def changes_since(evaluated, active):
    """One line per architecture whose active model is not the one evaluated: `evaluated` and
    `active` map architecture -> model id."""
    lines = []
    for arch in [a for a in service.ORDER if a in evaluated or a in active]:
        before, now = evaluated.get(arch), active.get(arch)
        if before == now:
            continue
        if before is None:
            lines.append(f"{arch}: model #{now} is active now and was not evaluated")
        elif now is None:
            lines.append(f"{arch}: model #{before} was evaluated; no {arch} model is active now")
        else:
            lines.append(f"{arch}: model #{before} was evaluated; model #{now} is active now")
    return lines


@register.simple_tag
def classification_evaluation():
    evaluation = service.latest_evaluation()
    if evaluation:
        evaluated = {row["name"]: row["model_id"] for row in evaluation["rows"] if row.get("model_id")}
        active = {record.architecture: record.pk for record in registry.active_records(service.TASK)}
        evaluation["model_ids"] = [f"#{evaluated[arch]} ({arch})" for arch in service.ORDER if arch in evaluated]
        evaluation["changed"] = changes_since(evaluated, active)
    return evaluation


@register.simple_tag
def per_class_accuracy(record):
    """The model's per-class test accuracy as sorted bars, from the evaluation.json its training
    run wrote beside it (none when that file is missing or unreadable)."""
    import json

    from registry import metric_display

    path = registry.absolute_path(record.path).parent / "evaluation.json"
    try:
        scores = json.loads(path.read_text())[record.architecture]["per_class"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return metric_display.bars(scores)
