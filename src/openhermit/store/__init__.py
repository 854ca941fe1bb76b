"""PostgreSQL store: engine, embedded server, tables, repositories, migrations."""
