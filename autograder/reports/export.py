"""Report files in the formats instructors ask for: CSV, Parquet, nbgrader's export, an LMS sheet."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import AutograderError

FORMATS = ("html", "csv", "parquet", "nbgrader", "lms")


def parquet_available() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def default_formats() -> tuple[str, ...]:
    """Every format; Parquet only when pyarrow is installed."""
    return tuple(f for f in FORMATS if f != "parquet" or parquet_available())


def parse_formats(text: str | None) -> tuple[str, ...]:
    """``"csv,html"`` -> ``("csv", "html")``; ``None`` or ``"all"`` -> :func:`default_formats`."""
    if text is None or text.strip() == "all":
        return default_formats()
    chosen = tuple(dict.fromkeys(f.strip() for f in text.split(",") if f.strip()))
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise AutograderError(f"unknown report format {unknown or text!r}; choose from {', '.join(FORMATS)}"
                              " (comma-separated) or all")
    if "parquet" in chosen and not parquet_available():
        raise AutograderError("the parquet format needs pyarrow: run `make install` (it is pinned in "
                              "pyproject.toml) or choose another --format")
    return chosen


def write_tables(tables: dict[str, pd.DataFrame], folder: Path, formats: tuple[str, ...]) -> list[Path]:
    """Write each table as ``<name>.csv`` and/or ``<name>.parquet`` into ``folder``."""
    written = []
    for name, frame in tables.items():
        if "csv" in formats:
            written.append(folder / f"{name}.csv")
            frame.to_csv(written[-1], index=False)
        if "parquet" in formats:
            written.append(folder / f"{name}.parquet")
            _parquet_safe(frame).to_parquet(written[-1], index=False)
    return written


def _parquet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns mixing numbers and ``None`` become floats, so Parquet gets one type per column."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object and out[col].map(lambda v: v is None or isinstance(v, int | float)).all():
            out[col] = pd.to_numeric(out[col], errors="coerce")
    return out


def lms_frame(export: pd.DataFrame) -> pd.DataFrame:
    """An LMS sheet from nbgrader's export: ``student_id``, ``total``, one column per assignment."""
    if export.empty:
        return pd.DataFrame(columns=["student_id", "total"])
    wide = export.pivot_table(index="student_id", columns="assignment", values="score",
                              aggfunc="sum", fill_value=0.0)
    wide = wide.reindex(sorted(wide.columns), axis=1)
    wide.insert(0, "total", wide.sum(axis=1))
    wide.columns.name = None
    return wide.reset_index().round(4)
