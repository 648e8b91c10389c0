"""Simulated students of `denoiser`: what each one writes into the solution cells.

Ids name the outcome: a correct solution; a weak model (a single learnt 5x5 filter, a blur); and a
model with a ``Lambda`` layer, which works in the notebook but which the grader's safe loading
refuses (a Lambda holds Python code).
"""

from __future__ import annotations

from . import SimulatedStudent

_PSNR = '''
def psnr(y_true, y_pred):
    mse = np.mean((np.asarray(y_true, "float64") - np.asarray(y_pred, "float64")) ** 2)
    return float(10 * np.log10(1.0 / mse))
'''


def _train_and_save(epochs: int, seed: int) -> str:
    return f'''
keras.utils.set_random_seed({seed})
model = build_model()
model.fit(x_train, y_train, epochs={epochs}, batch_size=32, verbose=0)
model.save("denoiser_model.keras")
'''


STUDENTS: tuple[SimulatedStudent, ...] = (
    SimulatedStudent(
        "correct",
        "a correct solution: three 3x3 convolutions, trained and saved",
        {
            "psnr": _PSNR,
            "build_model": '''
def build_model():
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.Conv2D(1, 3, padding="same", activation="sigmoid"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.005), loss="binary_crossentropy")
    return model
''',
            "train_model": _train_and_save(3, 1),
        },
    ),
    SimulatedStudent(
        "weak_model",
        "a weak model: one learnt 5x5 filter (a blur), no hidden layer",
        {
            "psnr": _PSNR,
            "build_model": '''
def build_model():
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(1, 5, padding="same", activation="sigmoid"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.03), loss="binary_crossentropy")
    return model
''',
            "train_model": _train_and_save(3, 0),
        },
    ),
    SimulatedStudent(
        "lambda_layer",
        "a Lambda layer clips the output: fine in the notebook, refused by safe loading",
        {
            "psnr": _PSNR,
            "build_model": '''
def build_model():
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(8, 3, padding="same", activation="relu"),
        layers.Conv2D(1, 3, padding="same"),
        layers.Lambda(lambda t: keras.ops.clip(t, 0.0, 1.0)),
    ])
    model.compile(optimizer="adam", loss="mean_squared_error")
    return model
''',
            "train_model": _train_and_save(1, 0),
        },
    ),
)
