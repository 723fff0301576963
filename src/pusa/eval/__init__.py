"""Evaluation: VBench-I2V aggregation (more to come: proxy metrics, batch generation, reports)."""
