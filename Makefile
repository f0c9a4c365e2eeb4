# `make check` runs what CI runs, cheapest first.
.PHONY: check fmt clippy test fixtures
check: fmt clippy test
fmt:
	cargo fmt --all -- --check
clippy:
	cargo clippy --workspace --all-targets -- -D warnings
test:
	cargo test --workspace
fixtures:
	python3 scripts/make_fixtures.py
