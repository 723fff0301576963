"""Evaluation: VBench-I2V aggregation and weight-free proxy metrics (batch generation and reports: issue 6)."""
