# Two commands for a fresh machine: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
export FLASK_APP := lti_tool:create_app

.PHONY: install demo test lint bench serve worker translations translations-update clean browser-deps \
        chromium downloads vendor-dkfds screenshots

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

translations: $(VENV)/.installed
	@$(BIN)/pybabel -q compile --use-fuzzy -d translations

install: $(VENV)/.installed translations downloads

# The templates to take home: each pack's downloads/*.md built into an editable ODT and a tagged PDF
# (printed by Chromium) in the module's media/downloads folder. Built at install, not committed, and
# only again when a source or the builder changes.
DOWNLOAD_SOURCES := $(wildcard content/*/downloads/*.md) content/*/programme.yaml
content/.downloads-built: $(VENV)/.installed lti_tool/content/downloads.py $(DOWNLOAD_SOURCES)
	@$(MAKE) --no-print-directory chromium
	@$(BIN)/flask content downloads
	@touch $@

downloads: content/.downloads-built

# The tool on http://$(HOST):$(PORT) and the demo LMS on http://localhost:$(LMS_PORT): two sites, as a
# real LMS and the tool are. Each side is set up by its own commands and keeps its own database.
LMS_PORT ?= 5001
DEMO_ENV := TOOL_BASE_URL=http://$(HOST):$(PORT) DEMO_LMS_URL=http://localhost:$(LMS_PORT) \
            LMS_BASE_URL=http://localhost:$(LMS_PORT)
demo: install
	@$(DEMO_ENV) $(BIN)/flask db upgrade 2>&1 | grep -v '^INFO' || true
	@$(DEMO_ENV) $(BIN)/flask keys ensure
	@$(DEMO_ENV) $(BIN)/flask demo setup
	@$(DEMO_ENV) $(BIN)/flask --app lti_tool.demo_lms.app:create_lms_app lms setup
	@$(BIN)/flask content check
	@$(DEMO_ENV) $(BIN)/python -m lti_tool.demo_lms.serve --host $(HOST) --port $(PORT) --lms-port $(LMS_PORT)

# Lint and types first (seconds), then the suite: a style or type slip fails like a test.
test: install browser-deps
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest $(PYTEST_ARGS)

# Debian's Chromium for the browser tests and axe-core for accessibility checks.
browser-deps: chromium
	@[ -f node_modules/axe-core/axe.min.js ] || npm install --no-audit --no-fund --silent >/dev/null

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); \
	  else echo "chromium missing: run 'sudo apt-get install chromium'"; fi; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: install
	$(BIN)/python -m tests.bench.run_all

clean:
	rm -rf $(VENV) instance .pytest_cache test-artifacts node_modules content/*/*/media/downloads content/.downloads-built

# After changing user-facing strings: extract them and merge into the catalogues.
translations-update: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete

# Production-style server on this machine (gunicorn; set DATABASE_URL, REDIS_URL, SECRET_KEY …).
serve: install
	$(BIN)/flask db upgrade
	$(BIN)/gunicorn -c config/gunicorn.conf.py wsgi:app

# A grade worker process (run as many as you like next to `make serve`).
worker: install
	$(BIN)/flask grades worker

# The parts of Det Fælles Designsystem (npm `dkfds`) the pages use, copied into static/ and committed:
# IBM Plex Sans in the two weights app.css names, with the licences. The colours, spacing and type
# scale are its design tokens, written as custom properties at the top of static/css/app.css.
DKFDS       := node_modules/dkfds
DKFDS_FONTS := $(DKFDS)/dist/fonts/IBMPlexSans/split/woff2
vendor-dkfds:
	@[ -d $(DKFDS) ] || npm install --no-audit --no-fund --silent >/dev/null
	mkdir -p static/vendor/dkfds/fonts
	cp $(DKFDS_FONTS)/IBMPlexSans-Regular-Latin1.woff2 $(DKFDS_FONTS)/IBMPlexSans-SemiBold-Latin1.woff2 \
	   static/vendor/dkfds/fonts/
	cp $(DKFDS_FONTS)/license.txt static/vendor/dkfds/fonts/OFL.txt
	cp $(DKFDS)/LICENSE.md static/vendor/dkfds/LICENSE.md
	node -p '"dkfds " + require("./$(DKFDS)/package.json").version' > static/vendor/dkfds/VERSION

# Screenshots for the README and docs/ (320, 768 and 1280 px; da, sv, en) from the browser tests'
# own flows. Not part of `make test`: run it after a visual change and commit docs/screenshots/.
screenshots: install browser-deps
	SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(BIN)/pytest -q -p no:cacheprovider tests/browser/screenshots.py
