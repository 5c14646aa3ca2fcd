"""{% classification_evaluation as evaluation %}: the latest evaluate_classifier result, for the Models page."""

from django import template

from classifier import service

register = template.Library()


@register.simple_tag
def classification_evaluation():
    return service.latest_evaluation()
