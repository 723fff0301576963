from pusa.batch import Job, read_jobs, run_batch, shard  # noqa: F401  (moved to pusa.batch)
