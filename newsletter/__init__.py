"""newsletter: a personal privacy-alert newsletter generator.

The CLI is a thin layer over this library; scripts can import the same functions.
"""

__version__ = "0.1.0"
