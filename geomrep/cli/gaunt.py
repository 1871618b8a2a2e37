"""CLI registrations (demo task, benchmark, checks) for the gaunt feature. Filled by its issue."""
