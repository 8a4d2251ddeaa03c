"""Content packs: loading, validation and rendering of the programmes in `content/`."""
