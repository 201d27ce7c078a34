"""The bundled presets: one TOML file each, read by ``configs.presets`` (``cppnart presets`` lists them)."""
