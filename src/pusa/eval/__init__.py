"""Evaluation: VBench-I2V aggregation, weight-free proxy metrics, batch generation and `pusa eval` reports."""
