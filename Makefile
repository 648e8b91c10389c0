# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# TensorFlow flavour: the CUDA build when a GPU is visible, the CPU wheel otherwise.
TF_EXTRA := $(shell command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && echo cuda || echo cpu)
STAMP := $(VENV)/.installed-$(TF_EXTRA)
# Keep TensorFlow's C++ start-up chatter out of the terminal.
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: install sandbox-tools course-data browser-tools hub-tools postgres-tools hub demo test lint docs release reference clean

install: $(STAMP) sandbox-tools course-data

# Student code runs under bubblewrap (Debian package). Installed when we may (root with apt-get);
# otherwise grading still works, with resource limits but without namespaces.
sandbox-tools:
	@command -v bwrap >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; }; }; } || \
	  echo "warning: bubblewrap (bwrap) is not installed: student code will run without namespaces"

# text_rnn's tweets are short quotes of Debian's fortunes package. Installed when we may (root with
# apt-get); otherwise the tweets fall back to sentences of the prose and grading still works.
course-data:
	@test -f /usr/share/games/fortunes/wisdom || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fortunes >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fortunes >/dev/null; }; }; } || \
	  echo "warning: Debian's fortunes is not installed: text_rnn's tweets fall back to prose sentences"

# The report tests render report.html in a real headless browser (Debian chromium). Installed when we
# may (root with apt-get); otherwise those tests skip and say why.
browser-tools:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-liberation >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-liberation >/dev/null; }; }; } || \
	  echo "warning: chromium is not installed: the report's browser test will skip"

# JupyterHub's proxy (npm package, pinned), in a repo-local folder; skipped with a warning without npm
# (the hub tests then skip and say why).
CHP_VERSION := 5.3.0
CHP := .hub-tools/node_modules/.bin/configurable-http-proxy
hub-tools:
	@test -x $(CHP) || { command -v npm >/dev/null 2>&1 && \
	  npm install --silent --no-audit --no-fund --prefix .hub-tools configurable-http-proxy@$(CHP_VERSION) >/dev/null; } || \
	  echo "warning: configurable-http-proxy is not installed (no npm): the hub tests will skip"

# PostgreSQL server (Debian packages) for the PostgreSQL gradebook test; installed when we may.
postgres-tools:
	@{ command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }; }; } || \
	  echo "warning: PostgreSQL is not installed: the PostgreSQL gradebook test will skip"

# A local JupyterHub on 127.0.0.1:8000 (demo users instructor, student1..3, password "demo"), grading
# on submit. A fresh hub-course/ is written when missing (`rm -rf hub-course .hub-state` to start over).
HUB_ASSIGNMENT ?= digits
hub: install hub-tools
	test -f hub-course/nbgrader_config.py || $(BIN)/autograder hub-course $(HUB_ASSIGNMENT) --course-dir hub-course
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/jupyterhub -f jupyterhub_config.py

# Idempotent: the stamp is newer than the files that define the install, so a second run skips it.
$(STAMP): pyproject.toml requirements/lock.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c requirements/lock.txt -e ".[$(TF_EXTRA),dev]"
	rm -f $(VENV)/.installed-*
	touch $@

demo: install
	$(BIN)/autograder demo

test: install browser-tools hub-tools postgres-tools
	$(BIN)/python -m pytest -ra --durations=25

lint: install
	$(BIN)/ruff check autograder tests benchmarks

# The documentation site (MkDocs + Material) from docs/ into site/; strict: a broken link or a page
# missing from the nav fails the build.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# Regenerate the student versions in release/ from source/ (never edit release/ by hand).
release: install
	$(BIN)/autograder generate --all

# Retrain every reference model deterministically.
reference: install
	$(BIN)/autograder train-reference --all

clean:
	rm -rf demo-course hub-course .hub-state .pytest_cache
