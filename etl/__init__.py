"""The caremap ETL: read source files, normalise and geocode their rows, load the directory."""
