"""CLI registrations (demo task, benchmark, checks) for the graphs feature. Filled by its issue."""
