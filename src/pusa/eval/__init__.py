"""Evaluation: VBench-I2V aggregation, weight-free proxy metrics and `pusa eval` reports."""
