"""Great Expectations suites and the custom privacy expectations. Beam-free."""
