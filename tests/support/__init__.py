"""What the tests and the benchmarks share: waiting for something to happen (`wait`), starting an
agent worker (`worker`) and lobby clients played by the Python SDK (`lobby_clients`). The
benchmarks import from here and nowhere else in `tests/`."""
