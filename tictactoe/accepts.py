"""What the tic-tac-toe slot accepts from a `.keras` file trained elsewhere (`import_model`,
registry/model_import.py): the board from the side to move `(batch, 18)` in (tictactoe/positions.py
`encode`), one Q-value per cell `(batch, 9)` out; no class names. Declared on TictactoeConfig
(tictactoe/apps.py)."""

from registry.model_import import Fit, ImportRefused, io_shapes, predict_blank

from .positions import INPUT_SIZE

CELLS = 9


def check(model):
    """Fit(input_size=[18], outputs=9)."""
    inputs, outputs = io_shapes(model)
    if inputs[1:] != (INPUT_SIZE,) or outputs[1:] != (CELLS,):
        raise ImportRefused(
            f"A tic-tac-toe agent maps the board (batch, {INPUT_SIZE}) to Q-values (batch, {CELLS}); "
            f"this model maps {inputs} to {outputs}."
        )
    predict_blank(model, inputs[1:])
    return Fit([INPUT_SIZE], CELLS)
