"""``python -m geomrep`` entry point."""

from geomrep.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
