"""Instructor reports: pandas tables, matplotlib figures and HTML built from results and the gradebook.

Reports know nothing of TensorFlow or notebooks: they read result files, gradebook rows and
pictures already computed (:mod:`autograder.pictures`).
"""

from .table import load_results, results_frame, terminal_table
from .write import WrittenReport, write_report, write_reports

__all__ = ["WrittenReport", "load_results", "results_frame", "terminal_table", "write_report",
           "write_reports"]
