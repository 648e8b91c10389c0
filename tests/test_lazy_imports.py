"""The deferred import of rfc3987_syntax: nothing of it is loaded until used, then it works as its own."""

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("rfc3987_syntax")


def run(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_importing_nbgrader_through_autograder_does_not_build_the_iri_grammar():
    out = run("""
        import sys
        import autograder, nbgrader.apps, jsonschema
        print('lark' in sys.modules, 'rfc3987_syntax.syntax_helpers' in sys.modules)
    """)
    assert out == "False False"


def test_iri_format_checks_still_run_with_the_real_module():
    out = run("""
        import sys
        import autograder
        from jsonschema import Draft7Validator, FormatChecker
        v = Draft7Validator({'format': 'iri'}, format_checker=FormatChecker())
        bad = [e.message for e in v.iter_errors('not an iri')]
        good = list(v.iter_errors('http://example.org/caf\\u00e9'))
        ref = [e.message for e in Draft7Validator({'format': 'iri-reference'},
                                                  format_checker=FormatChecker()).iter_errors('a b')]
        print(bad, good, ref, type(sys.modules['rfc3987_syntax']).__name__)
    """)
    assert out == "[\"'not an iri' is not a 'iri'\"] [] [\"'a b' is not a 'iri-reference'\"] module"


def test_other_names_reach_the_real_module_and_a_module_imported_first_is_left_alone():
    out = run("""
        import sys
        import autograder._lazy_imports as lazy
        stand_in = sys.modules['rfc3987_syntax']
        print(callable(stand_in.parse), type(sys.modules['rfc3987_syntax']).__name__,
              lazy.defer_rfc3987_syntax())
    """)
    assert out == "True module False"
