"""The benchmark suite (`python -m bench`): every figure a ratio against baselines measured
in the same run. The older single-purpose scripts beside it still run on their own."""
