"""Simulated students of `face_recognition`: what each one writes into the solution cells.

Ids name the outcome: a correct solution; a weak model (the suggested network trained for a
single epoch); and a broken submission whose triplet loss forgets the hinge ``[.]_+`` (the hidden
comparison with the reference loss fails) and whose network outputs 256-value encodings, over the
grader's limit of 128 (every model metric scores 0 with that reason).
"""

from __future__ import annotations

from . import SimulatedStudent

_CROP_FACE = '''
def crop_face(image, detector, size=32):
    faces = detector.detect_faces(image)
    if not faces:
        return None
    x, y, w, h = max(faces, key=lambda face: face["confidence"])["box"]
    crop = image[max(y, 0):y + h, max(x, 0):x + w]
    grey = tf.image.rgb_to_grayscale(tf.cast(crop, tf.float32) / 255.0)
    return tf.image.resize(grey, (size, size)).numpy()[..., 0].astype("float32")
'''

_TRIPLET_LOSS = '''
def triplet_loss(anchor, positive, negative, alpha=0.2):
    pos_dist = ops.sum(ops.square(anchor - positive), axis=-1)
    neg_dist = ops.sum(ops.square(anchor - negative), axis=-1)
    return ops.sum(ops.maximum(pos_dist - neg_dist + alpha, 0.0))
'''

_NO_HINGE = '''
def triplet_loss(anchor, positive, negative, alpha=0.2):
    pos_dist = ops.sum(ops.square(anchor - positive), axis=-1)
    neg_dist = ops.sum(ops.square(anchor - negative), axis=-1)
    return ops.sum(pos_dist - neg_dist + alpha)  # forgot max(., 0)
'''

_BUILD_MODEL = '''
def build_model(width=32):
    model = keras.Sequential([
        keras.Input(shape=(32, 32, 1)),
        layers.Conv2D(16, 3, activation="relu", padding="same"),
        layers.MaxPooling2D(),
        layers.Conv2D(32, 3, activation="relu", padding="same"),
        layers.MaxPooling2D(),
        layers.Conv2D(32, 3, activation="relu", padding="same"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(width),
        layers.UnitNormalization(),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss=batch_hard_triplet_loss)
    return model
'''

_CLOSEST_MATCH = '''
def closest_match(query, gallery, names, threshold=None):
    distances = ((np.asarray(gallery) - np.asarray(query)) ** 2).sum(axis=1)
    best = int(distances.argmin())
    if threshold is not None and distances[best] > threshold:
        return None, float(distances[best])
    return names[best], float(distances[best])
'''


def _train(epochs: int, seed: int = 3) -> str:
    return f'''
keras.utils.set_random_seed({seed})
model = build_model()
model.fit(x_train, y_train, epochs={epochs}, batch_size=64, shuffle=True, verbose=0)
model.save("face_embedding.keras")
'''


def _answers(train: str, **changes: str) -> dict[str, str]:
    answers = {"crop_face": _CROP_FACE, "triplet_loss": _TRIPLET_LOSS, "build_model": _BUILD_MODEL,
               "train_embedding": train, "closest_match": _CLOSEST_MATCH}
    answers.update(changes)
    return answers


STUDENTS: tuple[SimulatedStudent, ...] = (
    SimulatedStudent(
        "correct",
        "a correct solution: the suggested embedding network, trained a little longer (14 epochs)",
        _answers(_train(14)),
    ),
    SimulatedStudent(
        "weak_model",
        "a weak model: the suggested embedding network trained for a single epoch",
        _answers(_train(1)),
    ),
    SimulatedStudent(
        "broken",
        "a triplet loss without the hinge, and 256-value encodings (over the limit of 128)",
        _answers(_train(2), triplet_loss=_NO_HINGE,
                 build_model=_BUILD_MODEL.replace("width=32", "width=256")),
    ),
)
