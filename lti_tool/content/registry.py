"""The loaded catalog, parsed once per process and shared by every request."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from lti_tool.content.loader import load_catalog
from lti_tool.content.model import Catalog

log = logging.getLogger(__name__)


class ContentRegistry:
    """Holds the catalog of the packs in `folder`, loading it on first use and logging its problems."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._catalog: Catalog | None = None
        self._lock = threading.Lock()

    def catalog(self) -> Catalog:
        """The catalog, loaded once on first call; threads racing that call load it only once."""
        if self._catalog is None:
            with self._lock:
                if self._catalog is None:
                    self._catalog = self._load()
        return self._catalog

    def reload(self) -> Catalog:
        """Read the packs again now and return the new catalog, which later calls to `catalog` see."""
        with self._lock:
            self._catalog = self._load()
        return self._catalog

    def _load(self) -> Catalog:
        catalog = load_catalog(self.folder)
        for problem in catalog.problems:
            log.error("content problem: %s", problem)
        if catalog.rejected:
            log.error("content packs left out: %s", ", ".join(catalog.rejected))
        log.info("content loaded: %s", ", ".join(sorted(catalog.programmes)) or "none")
        return catalog
