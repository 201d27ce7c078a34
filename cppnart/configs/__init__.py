"""Configs: frozen dataclasses and preset parsing. Imports nothing of cppnart but ``errors``."""
