"""Simulated students of `gan`: what each one writes into the solution cells.

Ids name the outcome: a correct solution; a weak GAN (trained two epochs only: its samples are
blurry, and the judge recognises fewer of them); and a generator with a ``Lambda`` layer that maps
a ``tanh`` output to [0, 1], as in many tutorials, which works in the notebook but which the
grader's safe loading refuses.
"""

from __future__ import annotations

from . import SimulatedStudent

_MODELS = '''
LATENT_DIM = 32


def build_generator():
    z = keras.Input(shape=(LATENT_DIM,))
    x = layers.LeakyReLU(0.2)(layers.Dense(256)(z))
    x = layers.BatchNormalization()(x)
    return keras.Model(z, layers.Dense(784, activation="sigmoid")(x), name="generator")


def build_discriminator():
    images = keras.Input(shape=(784,))
    x = layers.Dropout(0.3)(layers.LeakyReLU(0.2)(layers.Dense(128)(images)))
    return keras.Model(images, layers.Dense(1)(x), name="discriminator")
'''

_TANH_LAMBDA = '''
LATENT_DIM = 32


def build_generator():
    z = keras.Input(shape=(LATENT_DIM,))
    x = layers.LeakyReLU(0.2)(layers.Dense(256)(z))
    x = layers.BatchNormalization()(x)
    x = layers.Dense(784, activation="tanh")(x)
    pixels = layers.Lambda(lambda t: (t + 1.0) / 2.0)(x)  # [-1, 1] -> [0, 1]
    return keras.Model(z, pixels, name="generator")


def build_discriminator():
    images = keras.Input(shape=(784,))
    x = layers.Dropout(0.3)(layers.LeakyReLU(0.2)(layers.Dense(128)(images)))
    return keras.Model(images, layers.Dense(1)(x), name="discriminator")
'''

_LOSSES = '''
cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)


def discriminator_loss(real_logits, fake_logits):
    real_loss = cross_entropy(0.9 * keras.ops.ones_like(real_logits), real_logits)
    return 0.5 * (real_loss + cross_entropy(keras.ops.zeros_like(fake_logits), fake_logits))


def generator_loss(fake_logits):
    return cross_entropy(keras.ops.ones_like(fake_logits), fake_logits)
'''

_TRAINING = '''
def fit_gan(images, epochs, batch_size):
    generator, discriminator = build_generator(), build_discriminator()
    g_opt = keras.optimizers.Adam(learning_rate=0.001, beta_1=0.5)
    d_opt = keras.optimizers.Adam(learning_rate=0.001, beta_1=0.5)

    @tf.function
    def train_step(real):
        z = tf.random.normal((tf.shape(real)[0], LATENT_DIM))
        with tf.GradientTape() as d_tape, tf.GradientTape() as g_tape:
            fake = generator(z, training=True)
            real_logits, fake_logits = discriminator(real, training=True), discriminator(fake, training=True)
            d_loss, g_loss = discriminator_loss(real_logits, fake_logits), generator_loss(fake_logits)
        d_opt.apply_gradients(zip(d_tape.gradient(d_loss, discriminator.trainable_variables),
                                  discriminator.trainable_variables))
        g_opt.apply_gradients(zip(g_tape.gradient(g_loss, generator.trainable_variables),
                                  generator.trainable_variables))
        return d_loss, g_loss

    data = tf.data.Dataset.from_tensor_slices(images).shuffle(len(images))
    data = data.batch(batch_size, drop_remainder=True)
    history = {"d_loss": [], "g_loss": []}
    for _ in range(epochs):
        d_losses, g_losses = zip(*[(float(d), float(g)) for d, g in (train_step(b) for b in data)])
        history["d_loss"].append(float(np.mean(d_losses)))
        history["g_loss"].append(float(np.mean(g_losses)))
    return generator, history
'''


def _train_and_save(epochs: int, seed: int) -> str:
    return f'''
keras.utils.set_random_seed({seed})
generator, history = fit_gan(x_train, epochs={epochs}, batch_size=64)
generator.save("gan_generator.keras")
with open("gan_generator_history.json", "w") as f:
    json.dump(history, f)
'''


def _answers(train: str, models: str = _MODELS) -> dict[str, str]:
    return {"gan_models": models, "gan_losses": _LOSSES, "gan_training": _TRAINING, "train_gan": train}


STUDENTS: tuple[SimulatedStudent, ...] = (
    SimulatedStudent(
        "correct",
        "a correct solution: the GAN of the notebook, trained a little longer (6 epochs)",
        _answers(_train_and_save(6, 5)),
    ),
    SimulatedStudent(
        "weak_model",
        "a weak GAN: trained two epochs only",
        _answers(_train_and_save(2, 5)),
    ),
    SimulatedStudent(
        "lambda_generator",
        "a Lambda layer in the generator: works in the notebook, refused by safe loading",
        _answers(_train_and_save(2, 5), models=_TANH_LAMBDA),
    ),
)
