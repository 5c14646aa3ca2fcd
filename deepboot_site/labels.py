"""Class labels of the demo data sets in the reader's language.

The labels themselves (folder names, the models' class lists, the APIs' `label` fields) stay as
they are: they are contracts. `display_label` gives the words to show a person, in the active
language; a label outside the demo sets is shown as it is.
"""

from django.utils.translation import pgettext_lazy

# The classifier demo's classes (checker … triangle) and the detector demo's (circle … triangle).
DEMO_LABELS = {
    "checker": pgettext_lazy("class label", "checker"),
    "circle": pgettext_lazy("class label", "circle"),
    "cross": pgettext_lazy("class label", "cross"),
    "square": pgettext_lazy("class label", "square"),
    "star": pgettext_lazy("class label", "star"),
    "stripes": pgettext_lazy("class label", "stripes"),
    "triangle": pgettext_lazy("class label", "triangle"),
}


def display_label(label):
    """The label to show a person: translated for the demo classes, as it is otherwise."""
    return str(DEMO_LABELS.get(label, label))
