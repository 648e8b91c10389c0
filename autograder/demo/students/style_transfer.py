"""Simulated students of `style_transfer` (tests-only): what each one writes into the solution cells.

Ids name the outcome: a correct solution (all 6 test points); a Gram matrix that is not divided by
the number of positions ``H*W`` (the visible checks pass, the hidden check of ``gram_matrix``
fails: 5 points; the style loss is checked against the student's own ``gram_matrix`` and the
optimisation still lowers the loss); and a content loss written with the TensorFlow 1 function
``tf.squared_difference``, which raises ``AttributeError`` (0 points on the content-loss test and
on the optimisation loop, which calls it: 3 points).
"""

from __future__ import annotations

from . import SimulatedStudent

#: test points of each simulated student (6 in all)
EXPECTED_POINTS = {"correct": 6.0, "unnormalised_gram": 5.0, "content_loss_raises": 3.0}

_GRAM = '''
def gram_matrix(features):
    features = tf.convert_to_tensor(features, tf.float32)
    flat = tf.reshape(features, (-1, features.shape[-1]))
    return tf.einsum("pc,pd->cd", flat, flat) / tf.cast(tf.shape(flat)[0], tf.float32)
'''

_GRAM_UNNORMALISED = '''
def gram_matrix(features):
    features = tf.convert_to_tensor(features, tf.float32)
    flat = tf.reshape(features, (-1, features.shape[-1]))
    return tf.matmul(flat, flat, transpose_a=True)  # forgot to divide by H*W
'''

_STYLE = '''

def style_loss(style_features, generated_features):
    losses = [tf.reduce_mean((gram_matrix(g) - gram_matrix(s)) ** 2)
              for s, g in zip(style_features, generated_features)]
    return sum(losses) / len(losses)
'''

_CONTENT = '''
def content_loss(content_features, generated_features):
    return tf.reduce_mean((generated_features - content_features) ** 2)
'''

_CONTENT_TF1 = '''
def content_loss(content_features, generated_features):
    return tf.reduce_mean(tf.squared_difference(generated_features, content_features))
'''

_TOTAL = '''
def total_loss(content_value, style_value, alpha=ALPHA, beta=BETA):
    return alpha * content_value + beta * style_value
'''

# An eager loop (no tf.function), as most students write it.
_TRANSFER = '''
def transfer(content, style, steps, learning_rate=0.02):
    content_target = features(content)[CONTENT_LAYER]
    style_targets = features(style)
    image = tf.Variable(content)
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    history = []
    for _ in range(steps):
        with tf.GradientTape() as tape:
            maps = features(image)
            c_loss = content_loss(content_target, maps[CONTENT_LAYER])
            loss = total_loss(c_loss, style_loss(style_targets, maps))
        grad = tape.gradient(loss, image)
        optimizer.apply_gradients([(grad, image)])
        image.assign(tf.clip_by_value(image, 0.0, 1.0))
        history.append(float(loss))
    return image.numpy(), history
'''


def _answers(gram: str = _GRAM, content: str = _CONTENT) -> dict[str, str]:
    return {"gram_matrix": gram, "losses": content + _STYLE, "total_loss": _TOTAL, "transfer": _TRANSFER}


STUDENTS: tuple[SimulatedStudent, ...] = (
    SimulatedStudent("correct", "a correct solution, with an eager optimisation loop", _answers()),
    SimulatedStudent(
        "unnormalised_gram",
        "a Gram matrix not divided by H*W: only the hidden check of gram_matrix fails",
        _answers(gram=_GRAM_UNNORMALISED),
    ),
    SimulatedStudent(
        "content_loss_raises",
        "content_loss calls TensorFlow 1's tf.squared_difference: AttributeError",
        _answers(content=_CONTENT_TF1),
    ),
)
