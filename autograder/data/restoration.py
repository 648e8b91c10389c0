"""Image restoration: the four parts of the CNN homework, from images that ship offline.

Photos: the two colour photos bundled with scikit-learn (``china.jpg``, ``flower.jpg``, 427x640)
and matplotlib's ``grace_hopper.jpg`` (600x512). Hidden test images never reach students:

* colorization and in-painting use 32x32 tiles of the scikit-learn photos, split like a
  checkerboard: students get the "white" tiles, the grader keeps the "black" ones;
* up-res uses 256x256 crops of the portrait: students get its left half, the grader crops the right.

(Both packages are public, so a determined student could find those pixels: the README says so.)

Every part is a dataset ``restoration.<part>`` with float32 images in [0, 1] (1/255 steps):

* ``restoration.colorize``: ``x`` = the tile with its saturation removed by
  ``tf.image.adjust_saturation(image, 0)`` (grey, still 3 channels), ``y`` = the colour tile.
* ``restoration.upres``: ``y`` = a 256x256 crop, ``x`` = it downsized to 64x64 (area averaging).
* ``restoration.inpaint``: ``x`` = the tile with its central patch (rows and columns from 25% to
  75%) set to 0, ``y`` = the whole tile.
* ``restoration.frames``: synthetic clips of a shape moving in a straight line at constant speed:
  ``x`` = frames 1 and 3 stacked on the channel axis (6 channels), ``y`` = frame 2.

Students' file ``restoration_train.npz`` (uint8): ``tiles`` (n, 32, 32, 3), ``portrait`` (the
left half of the portrait) and ``clips`` (n, 3, 32, 32, 3); the notebook makes the pairs itself
with the same transformations, which this module also applies for training in ``train`` mode.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np

from ..errors import AutograderError
from . import Split, register, write_npz

PHOTOS = ("china", "flower")
TILE = 32
UPRES_TARGET = 256
UPRES_INPUT = 64
CLIP_SIZE = 32
STUDENT_FILE = "restoration_train.npz"
UPRES_CROPS = {"train": 24, "test": 12}
SEEDS = {"upres": (31, 32), "frames": (41, 42)}
N_CLIPS = {"train": 1000, "test": 300}


def _package_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise AutograderError(f"the restoration images need the PyPI package {package}")
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    if not path.is_file():
        raise AutograderError(f"{package} is installed but its sample image {path.name} is missing")
    return path


def photo_paths() -> list[Path]:
    return [_package_file("sklearn", "datasets", "images", f"{name}.jpg") for name in PHOTOS]


def portrait_path() -> Path:
    return _package_file("matplotlib", "mpl-data", "sample_data", "grace_hopper.jpg")


def hidden_files() -> list[Path]:
    """The images the hidden tiles and crops come from: masked inside sandboxes."""
    return [*photo_paths(), portrait_path()]


def _read_rgb(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
    arr.setflags(write=False)
    return arr


@functools.lru_cache(maxsize=1)
def _tiles() -> tuple[np.ndarray, np.ndarray]:
    """Every whole 32x32 tile of the photos (uint8), split like a checkerboard: (white, black)."""
    white, black = [], []
    for path in photo_paths():
        photo = _read_rgb(path)
        for i in range(photo.shape[0] // TILE):
            for j in range(photo.shape[1] // TILE):
                tile = photo[i * TILE:(i + 1) * TILE, j * TILE:(j + 1) * TILE]
                (white if (i + j) % 2 == 0 else black).append(tile)
    return np.stack(white), np.stack(black)


def tiles(split: str) -> np.ndarray:
    """The students' (``train``) or the hidden (``test``) tiles, float32 in [0, 1]."""
    white, black = _tiles()
    return ((white if split == "train" else black) / 255.0).astype(np.float32)


def portrait_half(split: str) -> np.ndarray:
    """The students' (``train``: left) or the hidden (``test``: right) half of the portrait, uint8."""
    portrait = _read_rgb(portrait_path())
    half = portrait.shape[1] // 2
    return portrait[:, :half] if split == "train" else portrait[:, half:]


def random_crops(image: np.ndarray, n: int, size: int, seed: int) -> np.ndarray:
    """``n`` crops of ``size`` x ``size`` at positions drawn with ``seed`` (float32 in [0, 1])."""
    rng = np.random.default_rng(seed)
    h, w = image.shape[:2]
    if h < size or w < size:
        raise ValueError(f"an image of {h}x{w} has no {size}x{size} crop")
    tops = rng.integers(0, h - size + 1, n)
    lefts = rng.integers(0, w - size + 1, n)
    crops = np.stack([image[t:t + size, left:left + size] for t, left in zip(tops, lefts, strict=True)])
    return (crops / 255.0).astype(np.float32)


def _steps(images) -> np.ndarray:
    """Round to 1/255 steps, as a uint8 image would hold them."""
    return (np.rint(np.clip(np.asarray(images, dtype=np.float64), 0, 1) * 255.0) / 255.0).astype(np.float32)


def desaturate(images: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    return _steps(tf.image.adjust_saturation(images, 0.0))


def downsize(images: np.ndarray, size: int = UPRES_INPUT) -> np.ndarray:
    import tensorflow as tf

    return _steps(tf.image.resize(images, (size, size), method="area"))


def mask_center(images: np.ndarray) -> np.ndarray:
    """Zero the central patch: rows and columns from 25% to 75% of the size."""
    out = np.array(images, dtype=np.float32, copy=True)
    h, w = out.shape[1:3]
    out[:, h // 4: 3 * h // 4, w // 4: 3 * w // 4] = 0.0
    return out


def moving_shape_clips(n: int, seed: int, size: int = CLIP_SIZE) -> np.ndarray:
    """``n`` three-frame clips (uint8, (n, 3, size, size, 3)): a square or a disk on a plain
    background, moving in a straight line at constant speed (frame 2 is exactly halfway)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    clips = np.empty((n, 3, size, size, 3), dtype=np.uint8)
    for i in range(n):
        background = rng.integers(0, 256, 3)
        colour = (background + rng.integers(64, 192, 3)) % 256
        radius = int(rng.integers(3, 7))
        velocity = rng.integers(-4, 5, 2)
        # Every frame's centre keeps the whole shape inside the picture.
        low = radius + np.maximum(0, -2 * velocity)
        high = size - 1 - radius - np.maximum(0, 2 * velocity)
        start = rng.integers(low, high + 1)
        disk = bool(rng.integers(0, 2))
        for f in range(3):
            cy, cx = start + f * velocity
            if disk:
                inside = (yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2
            else:
                inside = (np.abs(yy - cy) <= radius) & (np.abs(xx - cx) <= radius)
            clips[i, f] = background
            clips[i, f][inside] = colour
    return clips


def clips_to_pairs(clips: np.ndarray) -> Split:
    frames = clips.astype(np.float32) / 255.0
    return Split(x=np.concatenate([frames[:, 0], frames[:, 2]], axis=-1), y=frames[:, 1])


def _clips(split: str) -> np.ndarray:
    seed = SEEDS["frames"][0 if split == "train" else 1]
    return moving_shape_clips(N_CLIPS[split], seed)


def _check_source(source: str) -> None:
    if source != "offline":
        raise AutograderError("the restoration datasets exist offline only (bundled photos, generated clips)")


@register("restoration.colorize", student_files=lambda dest: write_student_files(dest))
def load_colorize(split: str, source: str) -> Split:
    _check_source(source)
    y = tiles(split)
    return Split(x=desaturate(y), y=y)


@register("restoration.upres", student_files=lambda dest: write_student_files(dest))
def load_upres(split: str, source: str) -> Split:
    _check_source(source)
    seed = SEEDS["upres"][0 if split == "train" else 1]
    y = random_crops(portrait_half(split), UPRES_CROPS[split], UPRES_TARGET, seed)
    return Split(x=downsize(y), y=y)


@register("restoration.inpaint", student_files=lambda dest: write_student_files(dest))
def load_inpaint(split: str, source: str) -> Split:
    _check_source(source)
    y = tiles(split)
    return Split(x=mask_center(y), y=y)


@register("restoration.frames", student_files=lambda dest: write_student_files(dest))
def load_frames(split: str, source: str) -> Split:
    _check_source(source)
    return clips_to_pairs(_clips(split))


def write_student_files(dest: Path) -> list[Path]:
    """The students' tiles, half portrait and clips: one file for all four parts."""
    path = Path(dest) / STUDENT_FILE
    write_npz(path, tiles=_tiles()[0], portrait=portrait_half("train"), clips=_clips("train"))
    return [path]
