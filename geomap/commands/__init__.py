"""Sub-commands of the ``geomap`` command line, one module per concern."""
