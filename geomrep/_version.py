#: The package version (PEP 440), also the wheel's version.
__version__ = "0.1.0"
