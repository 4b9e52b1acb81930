"""Deterministic orchestration: one durable workflow per petition (信访事项)."""
