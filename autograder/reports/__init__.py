"""Instructor reports: pandas tables and HTML built from results and the gradebook.

Reports know nothing of TensorFlow or notebooks: they read result files and gradebook rows.
"""

from .table import load_results, results_frame, terminal_table, write_report

__all__ = ["load_results", "results_frame", "terminal_table", "write_report"]
