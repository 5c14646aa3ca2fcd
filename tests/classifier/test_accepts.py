"""What the classification slots accept (classifier/accepts.py): the class-name rule on its own;
the shape rules on real networks are in tests/registry/test_model_import.py."""

import pytest

from classifier.accepts import fit_class_names
from registry.model_import import ImportRefused


def test_one_class_name_per_output_fits_and_adds_no_details():
    assert fit_class_names(3, ["a", "b", "c"], "--class-names") == {}


def test_another_number_of_class_names_is_refused_naming_their_source():
    with pytest.raises(ImportRefused, match="The model has 3 outputs but the slot's current model gives 2 class names."):
        fit_class_names(3, ["a", "b"], "the slot's current model")
