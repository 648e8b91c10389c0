"""Simulated students of `autoencoder`: what each one writes into the solution cells.

Ids name the outcome: a correct solution; a weak model (the right autoencoder trained for only five
epochs); and a model with no bottleneck (the "encoder" is the whole 784-...-784 network, so the
code it hands the decoder is as wide as the image).
"""

from __future__ import annotations

from . import SimulatedStudent

_GOOD_MODEL = '''
def build_encoder():
    inputs = keras.Input(shape=(784,))
    x = layers.Dense(128, activation="relu")(inputs)
    x = layers.Dense(64, activation="relu")(x)
    code = layers.Dense(32, activation="relu")(x)
    return keras.Model(inputs, code, name="encoder")


def build_decoder():
    code = keras.Input(shape=(32,))
    x = layers.Dense(64, activation="relu")(code)
    x = layers.Dense(128, activation="relu")(x)
    return keras.Model(code, layers.Dense(784, activation="sigmoid")(x), name="decoder")


def build_model():
    encoder, decoder = build_encoder(), build_decoder()
    inputs = keras.Input(shape=(784,))
    autoencoder = keras.Model(inputs, decoder(encoder(inputs)), name="autoencoder")
    autoencoder.compile(optimizer=keras.optimizers.Adamax(learning_rate=0.01),
                        loss="mean_squared_error")
    return autoencoder
'''

_NO_BOTTLENECK = '''
def build_encoder():
    inputs = keras.Input(shape=(784,))
    x = inputs
    for units in (128, 64, 32, 64, 128):
        x = layers.Dense(units, activation="relu")(x)
    return keras.Model(inputs, layers.Dense(784, activation="sigmoid")(x), name="encoder")


def build_decoder():
    code = keras.Input(shape=(784,))
    return keras.Model(code, layers.Dense(784, activation="sigmoid")(code), name="decoder")


def build_model():
    encoder, decoder = build_encoder(), build_decoder()
    inputs = keras.Input(shape=(784,))
    autoencoder = keras.Model(inputs, decoder(encoder(inputs)), name="autoencoder")
    autoencoder.compile(optimizer=keras.optimizers.Adamax(learning_rate=0.01),
                        loss="mean_squared_error")
    return autoencoder
'''


def _train_and_save(epochs: int, seed: int) -> str:
    return f'''
keras.utils.set_random_seed({seed})
autoencoder = build_model()
autoencoder.fit(x_train, x_train, epochs={epochs}, batch_size=256, verbose=0)
autoencoder.save("autoencoder_model.keras")
'''


STUDENTS: tuple[SimulatedStudent, ...] = (
    SimulatedStudent(
        "correct",
        "a correct solution: the course's 784-128-64-32-64-128-784 autoencoder, 17 epochs",
        {"build_model": _GOOD_MODEL, "train_model": _train_and_save(17, 7)},
    ),
    SimulatedStudent(
        "weak_model",
        "a weak model: the right autoencoder, trained for only five epochs",
        {"build_model": _GOOD_MODEL, "train_model": _train_and_save(5, 3)},
    ),
    SimulatedStudent(
        "no_bottleneck",
        "no bottleneck: the encoder outputs 784 values per image",
        {"build_model": _NO_BOTTLENECK, "train_model": _train_and_save(2, 3)},
    ),
)
