.PHONY: test install-deps

# Thin wrappers: the scripts are the source of truth.
test:
	scripts/test

install-deps:
	scripts/install-deps
