"""Simulated students of `restoration` (four models, each scored on its own).

Ids name the outcome: a correct solution; weak models (every part trained for a single epoch);
and a broken submission whose up-res model returns 128x128 images (that part and its shape test
score 0) and which never saves its in-painting model (that part scores 0), while its other two
parts are scored as usual.
"""

from __future__ import annotations

from . import SimulatedStudent

_FUNCTIONS = {
    "desaturate": '''
def desaturate(images):
    return tf.image.adjust_saturation(images, 0.0).numpy()
''',
    "mask_center": '''
def mask_center(images):
    out = np.array(images, dtype="float32", copy=True)
    h, w = out.shape[1:3]
    out[:, h // 4: 3 * h // 4, w // 4: 3 * w // 4] = 0.0
    return out
''',
}

_BUILDERS = {
    "build_colorizer": '''
def build_colorizer():
    inputs = keras.Input(shape=(32, 32, 3))
    h = layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    h = layers.Conv2D(16, 3, padding="same", activation="relu")(h)
    delta = layers.Conv2D(3, 3, padding="same", kernel_initializer="zeros")(h)
    model = keras.Model(inputs, layers.Add()([inputs, delta]))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001), loss="mean_squared_error")
    return model
''',
    "build_upres": '''
def build_upres():
    inputs = keras.Input(shape=(64, 64, 3))
    up = layers.Resizing(256, 256, interpolation="bicubic")(inputs)
    h = layers.Conv2D(8, 3, padding="same", activation="relu")(up)
    delta = layers.Conv2D(3, 3, padding="same", kernel_initializer="zeros")(h)
    model = keras.Model(inputs, layers.Add()([up, delta]))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001), loss="mean_squared_error")
    return model
''',
    "build_inpainter": '''
def build_inpainter():
    inputs = keras.Input(shape=(32, 32, 3))
    h = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(inputs)
    h = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(h)
    h = layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu")(h)
    h = layers.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu")(h)
    h = layers.Concatenate()([h, inputs])
    outputs = layers.Conv2D(3, 3, padding="same", activation="sigmoid")(h)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.002), loss="mean_squared_error")
    return model
''',
    "build_interpolator": '''
def build_interpolator():
    inputs = keras.Input(shape=(32, 32, 6))
    average = layers.Conv2D(3, 1, use_bias=False, trainable=False)
    mean = average(inputs)
    average.set_weights([np.tile(np.eye(3, dtype="float32") / 2, (2, 1))[None, None]])
    h = layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    d = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(h)
    d = layers.Conv2D(16, 3, padding="same", activation="relu")(d)
    u = layers.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu")(d)
    h = layers.Conv2D(16, 3, padding="same", activation="relu")(layers.Concatenate()([u, h]))
    delta = layers.Conv2D(3, 3, padding="same", kernel_initializer="zeros")(h)
    model = keras.Model(inputs, layers.Add()([mean, delta]))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.002), loss="mean_squared_error")
    return model
''',
}

#: grade id of the training cell -> (model variable, builder, training data, batch size, file)
_TRAINING = {
    "train_colorizer": ("colorizer", "build_colorizer", "desaturate(tiles_train), tiles_train", 16,
                        "colorizer.keras"),
    "train_upres": ("upres", "build_upres", "lowres, hires", 4, "upres.keras"),
    "train_inpainter": ("inpainter", "build_inpainter", "mask_center(tiles_train), tiles_train", 16,
                        "inpainter.keras"),
    "train_interpolator": ("interpolator", "build_interpolator", "x_clips_train, y_clips_train", 32,
                           "interpolator.keras"),
}
_FULL_EPOCHS = {"train_colorizer": 10, "train_upres": 6, "train_inpainter": 15, "train_interpolator": 8}


def _train(cell: str, epochs: int, save: bool = True) -> str:
    var, builder, data, batch, file = _TRAINING[cell]
    crops = ('hires = random_crops(portrait, 24, 256, seed=0)\n'
             'lowres = tf.image.resize(hires, (64, 64), method="area").numpy()\n'
             if cell == "train_upres" else "")
    saving = f'{var}.save("{file}")\n' if save else "# (forgot to save the model)\n"
    return (f"keras.utils.set_random_seed(0)\n{crops}{var} = {builder}()\n"
            f"{var}.fit({data}, epochs={epochs}, batch_size={batch}, verbose=0)\n{saving}")


def _answers(epochs: dict[str, int], **changes: str) -> dict[str, str]:
    answers = {**_FUNCTIONS, **_BUILDERS}
    answers.update({cell: _train(cell, n) for cell, n in epochs.items()})
    answers.update(changes)
    return answers


STUDENTS: tuple[SimulatedStudent, ...] = (
    SimulatedStudent(
        "correct",
        "a correct solution: the four suggested networks, trained as suggested and saved",
        _answers(_FULL_EPOCHS),
    ),
    SimulatedStudent(
        "weak_model",
        "weak models: the suggested networks, each trained for a single epoch",
        _answers(dict.fromkeys(_FULL_EPOCHS, 1)),
    ),
    SimulatedStudent(
        "broken",
        "up-res returns 128x128 images and the in-painting model is never saved",
        _answers(
            dict.fromkeys(_FULL_EPOCHS, 2),
            build_upres=_BUILDERS["build_upres"].replace("Resizing(256, 256", "Resizing(128, 128"),
            # trained on 128x128 targets, so the notebook runs and saves a model of the wrong size
            train_upres=_train("train_upres", 2).replace(
                "upres.fit(lowres, hires", "upres.fit(lowres, tf.image.resize(hires, (128, 128)).numpy()"),
            train_inpainter=_train("train_inpainter", 2, save=False),
        ),
    ),
)
