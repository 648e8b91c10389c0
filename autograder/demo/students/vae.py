"""Simulated students of `vae`: what each one writes into the solution cells.

Ids name the outcome: a correct solution; a weak model (a loss without the KL term, so a plain
autoencoder whose posteriors lie far from N(0, I), which the KL check notices, trained briefly);
and a custom ``Sampling`` layer class, as in many tutorials, which Keras safe mode refuses in the
grader's process: the grader evaluates it in a sandbox that runs the notebook's class definitions
(``autograder/sandboxed_eval.py``), so it earns what its encoder and decoder are worth.
"""

from __future__ import annotations

from . import SimulatedStudent

_ENCODER_DECODER = '''
LATENT_DIM = 8


def build_encoder():
    images = keras.Input(shape=(784,))
    x = layers.Dense(128, activation="relu")(images)
    x = layers.Dense(64, activation="relu")(x)
    mu = layers.Dense(LATENT_DIM)(x)
    log_var = layers.Dense(LATENT_DIM)(x)
    return keras.Model(images, [mu, log_var], name="encoder")


def build_decoder():
    z = keras.Input(shape=(LATENT_DIM,))
    x = layers.Dense(64, activation="relu")(z)
    x = layers.Dense(128, activation="relu")(x)
    return keras.Model(z, layers.Dense(784, activation="sigmoid")(x), name="decoder")
'''

_VAE_LOSS = '''
def kl_divergence(mu, log_var):
    return 0.5 * keras.ops.sum(
        keras.ops.square(mu) + keras.ops.exp(log_var) - 1.0 - log_var, axis=-1)


def vae_loss(images, outputs):
    reconstruction = outputs[:, :784]
    mu = outputs[:, 784 : 784 + LATENT_DIM]
    log_var = outputs[:, 784 + LATENT_DIM :]
    reconstruction_loss = 784 * keras.losses.binary_crossentropy(images, reconstruction)
    return reconstruction_loss + kl_divergence(mu, log_var)
'''

_BUILD_MODEL = '''
def build_model():
    encoder, decoder = build_encoder(), build_decoder()
    images = keras.Input(shape=(784,))
    mu, log_var = encoder(images)
    sigma = layers.Activation("exponential")(layers.Rescaling(0.5)(log_var))
    eps = layers.GaussianNoise(1.0)(layers.Rescaling(0.0)(mu))
    z = layers.Add()([mu, layers.Multiply()([sigma, eps])])
    vae = keras.Model(images, layers.Concatenate()([decoder(z), mu, log_var]), name="vae")
    vae.compile(optimizer=keras.optimizers.Adam(learning_rate=0.002), loss=vae_loss)
    return vae
'''

_SAMPLING_LAYER = '''
class Sampling(layers.Layer):
    """z = mu + exp(log_var / 2) * eps: the reparameterisation trick as a layer."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        mu, log_var = inputs
        eps = keras.random.normal(keras.ops.shape(mu), seed=self.seed_generator)
        return mu + keras.ops.exp(0.5 * log_var) * eps


def build_model():
    encoder, decoder = build_encoder(), build_decoder()
    images = keras.Input(shape=(784,))
    mu, log_var = encoder(images)
    z = Sampling()([mu, log_var])
    vae = keras.Model(images, layers.Concatenate()([decoder(z), mu, log_var]), name="vae")
    vae.compile(optimizer=keras.optimizers.Adam(learning_rate=0.002), loss=vae_loss)
    return vae
'''


def _train_and_save(epochs: int, seed: int) -> str:
    return f'''
keras.utils.set_random_seed({seed})
vae = build_model()
vae.fit(x_train, x_train, epochs={epochs}, batch_size=128, verbose=0)
vae.save("vae_model.keras")
'''


def _answers(train: str, loss: str = _VAE_LOSS, model: str = _BUILD_MODEL) -> dict[str, str]:
    return {"encoder_decoder": _ENCODER_DECODER, "vae_loss": loss, "build_model": model,
            "train_model": train}


STUDENTS: tuple[SimulatedStudent, ...] = (
    SimulatedStudent(
        "correct",
        "a correct solution: the VAE of the notebook, trained a little longer (12 epochs)",
        _answers(_train_and_save(12, 5)),
    ),
    SimulatedStudent(
        "weak_model",
        "a weak VAE: its loss forgets the KL term (a plain autoencoder) and it trains 5 epochs",
        _answers(
            _train_and_save(5, 5),
            loss=_VAE_LOSS.replace(" + kl_divergence(mu, log_var)\n", "  # forgot the KL term\n"),
        ),
    ),
    SimulatedStudent(
        "custom_sampling_layer",
        "a custom Sampling layer class, trained one epoch: graded in a sandbox with its class",
        _answers(_train_and_save(1, 5), model=_SAMPLING_LAYER),
    ),
)
