bench:
	.venv/bin/python -m bench.run

.PHONY: bench
