"""All I/O of the petition workflows: directory look-ups and the read-model projection."""
