"""SQLite: schema and migrations, the store, read queries, image files, the data-dir lock."""
