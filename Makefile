# Docket — `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

# Cargo's build output lives outside the clone so fresh clones (CI) build incrementally.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/docket/target
CARGO ?= cargo
BENCH_TICKETS ?= 5000
BENCH_CONCURRENCY ?= 16
BENCH_SEED ?= 1000000
BENCH_MESSAGES ?= 10000
BENCH_MAIL_CONNECTIONS ?= 8
FUZZ_SECONDS ?= 60
SOAK_SCALE ?= 10
SOAK_ROUNDS ?= 3

.PHONY: help run test test-quick soak services lint fix bench fuzz clean-test-databases

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-22s %s\n", $$1, $$2}'

run: ## Start the whole suite on the embedded default (SQLite under ./data, in-process bus; LMTP :2424, SMTP :2525)
	DOCKET__MAIL__LMTP_LISTEN=$${DOCKET__MAIL__LMTP_LISTEN-127.0.0.1:2424} \
	DOCKET__MAIL__SMTP_LISTEN=$${DOCKET__MAIL__SMTP_LISTEN-127.0.0.1:2525} \
	$(CARGO) run -p docket -- run

test: services clean-test-databases ## Unit tests, storage conformance on PostgreSQL and SQLite, integration tests
	$(CARGO) test --workspace --locked

test-quick: ## Unit tests and every storage case on SQLite: nothing needed but the Rust toolchain
	$(CARGO) test --workspace --locked --lib --bins -- --skip postgres
	$(CARGO) test --locked -p docket-ticket -p docket-identity -p docket-mail \
		--test conformance --test authorization --test authority -- sqlite

soak: services clean-test-databases ## Long scenarios CI does not run: the broker outage at SOAK_SCALE times its size and the mail crash, SOAK_ROUNDS times each
	for round in $$(seq $(SOAK_ROUNDS)); do \
		echo "soak round $$round of $(SOAK_ROUNDS)"; \
		DOCKET_SOAK_SCALE=$(SOAK_SCALE) $(CARGO) test --locked -p docket-integration-tests --test e2e \
			-- --exact broker_outage::broker_outage_loses_and_duplicates_nothing || exit 1; \
		$(CARGO) test --locked -p docket --test mail_crash || exit 1; \
	done

services: ## Install/start what the tests talk to: PostgreSQL, RabbitMQ, OpenLDAP, Dovecot, swaks, aiosmtpd, Chromium
	@deploy/dev/services.sh
	@deploy/dev/slapd.sh
	@deploy/dev/dovecot.sh
	@deploy/dev/mail-tools.sh
	@deploy/dev/browser.sh

clean-test-databases: ## Drop the databases earlier test runs left behind
	@deploy/dev/drop-test-databases.sh

lint: ## cargo fmt --check and clippy -D warnings
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fix: ## Format and apply clippy's suggestions
	$(CARGO) fmt --all
	$(CARGO) clippy --workspace --all-targets --fix --allow-dirty --allow-staged

bench: services ## Benchmarks: ticket creation and mail (LMTP to API) in both modes, queue view and search on BENCH_SEED tickets; bench-results/*.json
	$(CARGO) build --release --locked --workspace --bin docket --bin docket-bench
	$(CARGO_TARGET_DIR)/release/docket-bench --docket $(CARGO_TARGET_DIR)/release/docket \
		--tickets $(BENCH_TICKETS) --concurrency $(BENCH_CONCURRENCY) --out bench-results/ticket-create.json
	$(CARGO_TARGET_DIR)/release/docket-bench --docket $(CARGO_TARGET_DIR)/release/docket --scenario mail \
		--messages $(BENCH_MESSAGES) --concurrency $(BENCH_MAIL_CONNECTIONS) --out bench-results/mail.json
	$(CARGO_TARGET_DIR)/release/docket-bench --docket $(CARGO_TARGET_DIR)/release/docket --scenario views \
		--seed $(BENCH_SEED) --out bench-results/views.json

fuzz: ## Fuzz the mail parser for FUZZ_SECONDS with cargo-fuzz (see fuzz/README.md)
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	mkdir -p fuzz/corpus/parse
	RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run parse fuzz/corpus/parse services/mail/tests/corpus \
		-- -max_total_time=$(FUZZ_SECONDS) -timeout=10
