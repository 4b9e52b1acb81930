"""The read model, the org directory and the notice outbox (SQLAlchemy 2, SQLite or PostgreSQL)."""
