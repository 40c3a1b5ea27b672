# The two commands the README names. Each does its own set-up first, so both work on a fresh clone.
.PHONY: setup plan test

setup:
	./scripts/setup.sh

plan: setup
	.venv/bin/python -m commands plan --stack dev

test: setup
	./scripts/check.sh
