"""Many runs: explore (seeds, swarm), sweeps (process pool, Dask), their tables."""
