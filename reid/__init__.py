"""Re-identification attacks and risk metrics over Arrow/Polars. Beam-free."""
