"""Hosts the workflows and activities; also the one-command local stack (``make run``)."""
