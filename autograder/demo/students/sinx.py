"""Simulated students of `sinx`: what each one writes into the solution cells.

Ids name the outcome: a correct solution, a weak (linear) model, and a model whose output has the
wrong shape (two numbers per point instead of one).
"""

from __future__ import annotations

from . import SimulatedStudent

_TRAIN_AND_SAVE = '''
keras.utils.set_random_seed(7)
model = build_model()
model.fit(x_train, y_train, epochs=20, batch_size=32, verbose=0)
model.save("sinx_model.keras")
'''


def _dense_net(output_units: int) -> str:
    return f'''
def build_model():
    """Two hidden tanh layers, a linear output."""
    model = keras.Sequential([
        keras.Input(shape=(1,)),
        layers.Dense(32, activation="tanh"),
        layers.Dense(32, activation="tanh"),
        layers.Dense({output_units}),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mean_squared_error")
    return model
'''


STUDENTS: tuple[SimulatedStudent, ...] = (
    SimulatedStudent(
        "correct",
        "a correct solution: two hidden tanh layers, trained and saved",
        {"build_model": _dense_net(1), "train_model": _TRAIN_AND_SAVE},
    ),
    SimulatedStudent(
        "weak_model",
        "a weak model: no hidden layer, so a straight line through sin(x)",
        {
            "build_model": '''
def build_model():
    model = keras.Sequential([keras.Input(shape=(1,)), layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05), loss="mean_squared_error")
    return model
''',
            "train_model": _TRAIN_AND_SAVE,
        },
    ),
    SimulatedStudent(
        "wrong_output_shape",
        "a model with two output units: it predicts two numbers per point",
        {"build_model": _dense_net(2), "train_model": _TRAIN_AND_SAVE},
    ),
)
