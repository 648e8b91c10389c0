"""Academic integrity checks of an assignment, for instructors only (never student feedback).

* :mod:`.code`: code similarity of the code students wrote (copydetect's winnowing fingerprints);
* :mod:`.weights`: shared models from saved weights (identical files, same weights, near-identical
  or fine-tuned weights); pure numpy;
* :mod:`.hidden`: possible training on the hidden data (hidden-split score against public-split);
* :mod:`.models`: the model pass, the only one that loads models (TensorFlow);
* :mod:`.check`: runs them on a course's submissions; :mod:`.report`: ``integrity.html`` and CSV.
"""

from .check import Thresholds, check_integrity
from .findings import FLAG_KINDS, Flag, IntegrityFindings
from .report import write_integrity_report

__all__ = ["FLAG_KINDS", "Flag", "IntegrityFindings", "Thresholds", "check_integrity",
           "write_integrity_report"]
