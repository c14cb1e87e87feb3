"""The directory schema's Alembic migrations; run them with `servicemap.publish.migrate`."""
