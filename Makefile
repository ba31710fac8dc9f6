# Mirsad — every setup step lives here, so a fresh machine needs only `make run` / `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SHARED ?= ../shared
CORPUS ?= corpus
INDEX  ?= index
PROCS  ?=# empty: the machine's cores
HOST   ?= 127.0.0.1
PORT   ?= 8000
WORKERS ?= 3
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CHROMIUM ?= /usr/bin/chromium

.PHONY: help install run serve index test chromium eval eval-entities train-tagger bench bench-swap bench-growth bench-scale loadtest loadtest-abuse clean

help:
	@echo "make run    - install, build the index from $(CORPUS)/ if missing, serve on http://$(HOST):$(PORT)"
	@echo "make test   - install what tests need (incl. Debian chromium) and run the whole suite"
	@echo "make index  [CORPUS='path ...'] [INDEX=dir] - (re)build the index"
	@echo "make eval   - retrieval quality on ARCD and XQuAD-ar"
	@echo "make eval-entities - the name tagger and extraction on ANERcorp test and the seeds"
	@echo "make train-tagger  - rebuild indexer/models/ (the tagger) from the shared data"
	@echo "make bench  - indexing and search speed on the shared corpora"
	@echo "make bench-swap [INDEX=dir] - the first queries after a swap, through the server"
	@echo "make bench-growth [LARGE=250000] - memory of growing archives, --add against a rebuild"
	@echo "make bench-scale [SYNTHETIC=250000] - 4 shards on a local Ray cluster beside one index"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

# Ray (mirsad serve --ray, the cluster tests): make test installs it; make run never imports it
$(VENV)/.installed-cluster: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test,cluster]'
	touch $@

index: install
	$(BIN)/mirsad index $(CORPUS) --index $(INDEX) $(if $(PROCS),--procs $(PROCS))

run: install
	$(BIN)/mirsad index $(CORPUS) --index $(INDEX) $(if $(PROCS),--procs $(PROCS)) --unless-current
	$(BIN)/mirsad serve --index $(INDEX) --host $(HOST) --port $(PORT) --workers $(WORKERS)

serve: run

chromium:
	@[ -x $(CHROMIUM) ] || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@[ -x $(CHROMIUM) ] && echo "chromium: $$($(CHROMIUM) --version 2>/dev/null)"

test: install $(VENV)/.installed-cluster chromium
	MIRSAD_SHARED=$(SHARED) CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest -q

eval: install
	MIRSAD_SHARED=$(SHARED) $(BIN)/python -m bench.eval $(if $(SHARDS),--shards $(SHARDS))

eval-entities: install
	MIRSAD_SHARED=$(SHARED) $(BIN)/python -m bench.eval_entities

# Rebuilds indexer/models/ (word counts, word clusters, the CRF) from the shared data;
# deterministic, ~3 minutes. make run never needs it: the files are in the repository.
train-tagger: install
	$(BIN)/python -m pip install --quiet -e '.[train]'
	$(BIN)/python -m indexer.train_tagger $(SHARED)/ner/anercorp/train.conll \
		--corpus $(SHARED)/corpus/ant-multisource.jsonl.gz $(SHARED)/corpus/saudinewsnet.jsonl.gz

bench: install
	MIRSAD_SHARED=$(SHARED) $(BIN)/python -m bench.speed $(if $(PROCS),--procs $(PROCS))

# Memory of a 4x archive, --add against a full rebuild (~30 min); LARGE=250000 adds the big archive
bench-swap: install
	MIRSAD_SHARED=$(SHARED) $(BIN)/python -m bench.swap $(INDEX)

bench-growth: install
	MIRSAD_SHARED=$(SHARED) $(BIN)/python -m bench.growth $(if $(LARGE),--large $(LARGE))

# Sharded (4 shards on a local 2-node Ray cluster) beside one index: build, memory, equal answers, search
# latency; SYNTHETIC=250000 for the large archive (~1.5 hours on 2 cores)
bench-scale: install $(VENV)/.installed-cluster
	MIRSAD_SHARED=$(SHARED) $(BIN)/python -m bench.scale $(if $(SYNTHETIC),--synthetic $(SYNTHETIC))

loadtest: install
	MIRSAD_SHARED=$(SHARED) $(BIN)/python -m bench.load

# A normal client's latency beside 50 slow sockets, then beside 8 misspelled-query clients
loadtest-abuse: install
	MIRSAD_SHARED=$(SHARED) $(BIN)/python -m bench.abuse

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache tests/artifacts
