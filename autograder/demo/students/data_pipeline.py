"""Simulated students of `data_pipeline`.

Ids name the outcome: a correct pipeline; a slow one (correct, but it preprocesses every item again
each epoch, one at a time: no parallel map, no cache, no prefetch); and a broken one that never
shuffles and drops the last, partial batch (two of the four checks fail).
"""

from __future__ import annotations

from . import SimulatedStudent

_PREPROCESS = '''
def preprocess(image, label):
    x = tf.cast(image, tf.float32) / 255.0
    return tf.expand_dims(x, -1), label
'''

STUDENTS: tuple[SimulatedStudent, ...] = (
    SimulatedStudent(
        "correct",
        "map in parallel, cache, shuffle, batch, prefetch",
        {
            "preprocess": _PREPROCESS,
            "make_pipeline": '''
def make_pipeline(images, labels, batch_size, seed):
    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    ds = ds.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE).cache()
    ds = ds.shuffle(len(images), seed=seed).batch(batch_size)
    return ds.prefetch(tf.data.AUTOTUNE)
''',
        },
    ),
    SimulatedStudent(
        "slow_pipeline",
        "correct batches, but every epoch preprocesses each item again, one at a time",
        {
            "preprocess": _PREPROCESS,
            "make_pipeline": '''
def make_pipeline(images, labels, batch_size, seed):
    ds = tf.data.Dataset.from_tensor_slices((images, labels)).shuffle(len(images), seed=seed)
    return ds.map(lambda x, y: tf.py_function(preprocess, [x, y], (tf.float32, tf.int64))).map(
        lambda x, y: (tf.ensure_shape(x, (28, 28, 1)), tf.ensure_shape(y, ()))).batch(batch_size)
''',
        },
    ),
    SimulatedStudent(
        "broken",
        "never shuffles and drops the last partial batch",
        {
            "preprocess": _PREPROCESS,
            "make_pipeline": '''
def make_pipeline(images, labels, batch_size, seed):
    ds = tf.data.Dataset.from_tensor_slices((images, labels)).map(preprocess)
    return ds.batch(batch_size, drop_remainder=True)
''',
        },
    ),
)
