"""Simulated students of `flowers`: what each one writes into the solution cells.

Ids name the outcome: a correct solution; a weak network (no hidden layer, plain SGD); and a
training cell that raises (so no model is saved) in a notebook whose log-likelihood also forgets
the log-determinant, which the visible test does not notice (it uses an identity covariance) and
the hidden test does.
"""

from __future__ import annotations

from . import SimulatedStudent

_FIT_GAUSSIANS = '''
def fit_gaussians(x, y, n_classes=3):
    means, covs, priors = [], [], []
    for c in range(n_classes):
        xc = x[y == c]
        means.append(xc.mean(axis=0))
        centred = xc - xc.mean(axis=0)
        covs.append(centred.T @ centred / len(xc))
        priors.append(len(xc) / len(x))
    return np.array(means), np.array(covs), np.array(priors)
'''

_LOG_LIKELIHOOD = '''
def log_likelihood(x, mean, cov):
    d = len(mean)
    diff = x - mean
    inv = np.linalg.inv(cov)
    quad = np.einsum("ni,ij,nj->n", diff, inv, diff)
    return -0.5 * (quad + np.log(np.linalg.det(cov)) + d * np.log(2 * np.pi))
'''

_PREDICT_ML = '''
def predict_ml(x, means, covs, priors):
    scores = [log_likelihood(x, means[c], covs[c]) + np.log(priors[c]) for c in range(len(priors))]
    return np.argmax(np.stack(scores, axis=1), axis=1)
'''

_GOOD_MODEL = '''
def build_model():
    model = keras.Sequential([
        keras.Input(shape=(4,)),
        layers.Dense(16, activation="relu"),
        layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
'''

_TRAIN_AND_SAVE = '''
keras.utils.set_random_seed(1)
model = build_model()
model.fit(x_train, y_train, epochs=20, batch_size=8, verbose=0)
model.save("flowers_model.keras")
'''

_PART1 = {"fit_gaussians": _FIT_GAUSSIANS, "log_likelihood": _LOG_LIKELIHOOD,
          "predict_ml": _PREDICT_ML}

STUDENTS: tuple[SimulatedStudent, ...] = (
    SimulatedStudent(
        "correct",
        "a correct solution: exact log-likelihood, a good network, saved",
        {**_PART1, "build_model": _GOOD_MODEL, "train_model": _TRAIN_AND_SAVE},
    ),
    SimulatedStudent(
        "weak_model",
        "a weak network: no hidden layer, trained with plain SGD",
        {
            **_PART1,
            "build_model": '''
def build_model():
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
''',
            "train_model": _TRAIN_AND_SAVE.replace("set_random_seed(1)", "set_random_seed(0)"),
        },
    ),
    SimulatedStudent(
        "cell_raises",
        "a training cell that raises (a misspelt keyword argument), so no model is saved; and a "
        "log-likelihood without the log-determinant, which only the hidden test notices",
        {
            **_PART1,
            "log_likelihood": _LOG_LIKELIHOOD.replace(" + np.log(np.linalg.det(cov))", ""),
            "build_model": _GOOD_MODEL,
            "train_model": _TRAIN_AND_SAVE.replace("epochs=20", "epoch=20"),
        },
    ),
)
