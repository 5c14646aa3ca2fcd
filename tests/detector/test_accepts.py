"""What the detection slots accept (detector/accepts.py): the class-name rule on its own; the shape
rules on real networks are in tests/registry/test_model_import.py."""

import pytest

from detector.accepts import fit_class_names
from registry.model_import import ImportRefused


def test_class_names_that_leave_whole_boxes_give_the_boxes_per_cell():
    assert fit_class_names(2 * 5 + 3, ["a", "b", "c"], "--class-names") == {"boxes": 2}


@pytest.mark.parametrize("channels, names", [(12, ["a", "b", "c"]), (3, ["a", "b", "c"]), (10, [])])
def test_class_names_that_leave_no_whole_box_are_refused_naming_their_source(channels, names):
    with pytest.raises(ImportRefused, match=f"do not fit {len(names)} classes from --class-names"):
        fit_class_names(channels, names, "--class-names")
