"""Simulated students of the demo: what each one writes into the solution cells of `digits`.

Ids name the outcome, so the demo's table reads as a test: a correct solution, a weak model, a
notebook whose cell raises, and one that forgets to save its model.
"""

from __future__ import annotations

from . import SimulatedStudent

_NEXT_LIKELY = '''
def next_likely(model, x):
    """Return, for each image in x, the digit the model finds second most likely."""
    probs = model.predict(x, verbose=0)
    return np.argsort(probs, axis=1)[:, -2]
'''

_GOOD_MODEL = '''
def build_model():
    """A two-layer perceptron with dropout."""
    model = keras.Sequential([
        keras.Input(shape=(28, 28)),
        layers.Flatten(),
        layers.Dense(256, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
'''

_TRAIN_AND_SAVE = '''
keras.utils.set_random_seed(7)
model = build_model()
model.fit(x_train, y_train, epochs=10, batch_size=64, validation_data=(x_val, y_val), verbose=2)
model.save("digits_model.keras")
'''

STUDENTS: tuple[SimulatedStudent, ...] = (
    SimulatedStudent(
        "correct",
        "a correct solution: trains a good model and saves it",
        {"build_model": _GOOD_MODEL, "train_model": _TRAIN_AND_SAVE, "next_likely": _NEXT_LIKELY},
    ),
    SimulatedStudent(
        "weak_model",
        "a weak model: a 3-unit bottleneck trained for one epoch",
        {
            "build_model": '''
def build_model():
    model = keras.Sequential([
        keras.Input(shape=(28, 28)),
        layers.Flatten(),
        layers.Dense(3, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.SGD(0.05),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
''',
            "train_model": '''
keras.utils.set_random_seed(3)
model = build_model()
model.fit(x_train, y_train, epochs=1, batch_size=64, verbose=2)
model.save("digits_model.keras")
''',
            "next_likely": _NEXT_LIKELY,
        },
    ),
    SimulatedStudent(
        "cell_raises",
        "a notebook whose cell raises: a typo in an activation name",
        {
            "build_model": '''
def build_model():
    model = keras.Sequential([
        keras.Input(shape=(28, 28)),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmaks"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
''',
            "train_model": _TRAIN_AND_SAVE,
            "next_likely": _NEXT_LIKELY,
        },
    ),
    SimulatedStudent(
        "forgot_to_save",
        "a good model that is never saved to digits_model.keras",
        {
            "build_model": _GOOD_MODEL,
            "train_model": _TRAIN_AND_SAVE.replace('model.save("digits_model.keras")\n', ""),
            "next_likely": _NEXT_LIKELY,
        },
    ),
)
