"""CLI registrations (demo task, benchmark, checks) for the spd feature. Filled by its issue."""
