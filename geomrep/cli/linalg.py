"""CLI registrations (demo task, benchmark, checks) for the linalg feature. Filled by its issue."""
