"""The files of the `style_transfer` assignment: two small images and a tiny feature extractor.

Nothing is downloaded, so offline and online are the same:

* ``style_transfer_images.npz``: ``content`` (scikit-learn's sample photo ``china.jpg``) and
  ``style`` (``flower.jpg``), each centre-cropped to a square and resized to 64x64, uint8 RGB of
  shape (64, 64, 3);
* ``feature_extractor.keras``: a tiny convolutional network with fixed random weights (seed
  :data:`EXTRACTOR_SEED`) standing in for VGG19, whose ImageNet weights cannot be downloaded
  offline. It maps images (batch, 64, 64, 3) in [0, 1] to the feature maps of its three
  convolutions (8, 16 and 32 channels). Random convolutional features carry enough texture
  statistics for a visible style transfer, and the losses are the same whichever network is used.

The assignment is tests-only (no hidden split, no model to grade): ``load`` returns the two
images as the ``train`` split, for completeness. Regenerate the files with
``python -m autograder.data.style_transfer source/style_transfer/data``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from . import Split, register, write_npz

SIZE = 64
EXTRACTOR_SEED = 2024
CHANNELS = (8, 16, 32)
IMAGES_FILE = "style_transfer_images.npz"
EXTRACTOR_FILE = "feature_extractor.keras"


def _square(image: np.ndarray, size: int = SIZE) -> np.ndarray:
    from PIL import Image

    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = Image.fromarray(image[top:top + side, left:left + side])
    return np.asarray(crop.resize((size, size), Image.Resampling.LANCZOS), dtype=np.uint8)


def images() -> tuple[np.ndarray, np.ndarray]:
    """The content and style images, uint8 arrays of shape (64, 64, 3)."""
    from sklearn.datasets import load_sample_image

    return _square(load_sample_image("china.jpg")), _square(load_sample_image("flower.jpg"))


def build_extractor(seed: int = EXTRACTOR_SEED):
    """The tiny feature extractor: three 3x3 convolutions (ReLU), average pooling between them,
    He-normal weights drawn from ``seed``, zero biases; outputs the three feature maps."""
    import keras
    from keras import layers

    rng = np.random.default_rng(seed)
    inputs = keras.Input(shape=(SIZE, SIZE, 3), name="image")
    x, outputs, fan_in = inputs, [], 3
    for i, channels in enumerate(CHANNELS, start=1):
        if i > 1:
            x = layers.AveragePooling2D(2, name=f"pool{i - 1}")(x)
        conv = layers.Conv2D(channels, 3, padding="same", activation="relu", name=f"conv{i}")
        x = conv(x)
        kernel = rng.normal(0.0, np.sqrt(2.0 / (9 * fan_in)), size=(3, 3, fan_in, channels))
        conv.set_weights([kernel.astype("float32"), np.zeros(channels, "float32")])
        outputs.append(x)
        fan_in = channels
    model = keras.Model(inputs, outputs, name="feature_extractor")
    model.trainable = False
    return model


@register("style_transfer", student_files=lambda dest: write_student_files(dest))
def load(split: str, source: str) -> Split:
    content, style = images()
    return Split(x=np.stack([content, style]), y=np.array([0, 1], dtype=np.int64))


def write_student_files(dest: Path) -> list[Path]:
    """Write the two images and the feature extractor into ``dest`` (the assignment's ``data/``)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    content, style = images()
    images_path = dest / IMAGES_FILE
    write_npz(images_path, content=content, style=style)
    extractor_path = dest / EXTRACTOR_FILE
    build_extractor().save(extractor_path)
    return [images_path, extractor_path]


if __name__ == "__main__":
    for path in write_student_files(Path(sys.argv[1] if len(sys.argv) > 1 else "data")):
        print(path)
