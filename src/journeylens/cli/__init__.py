"""The ``journeylens`` command: a thin layer over the library."""
