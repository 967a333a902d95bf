"""The catalog a command works on: opened and checked, or a click error that says why (no traceback)."""
from __future__ import annotations

import click

from catalog import Catalog, CatalogNotReady
from settings import Settings


def open_catalog(settings: Settings) -> Catalog:
    catalog = Catalog(settings.catalog_url)
    try:
        catalog.check_schema()
    except CatalogNotReady as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:  # cannot connect at all
        raise click.ClickException(f"cannot open the catalog at {catalog.safe_url}: {exc}") from None
    return catalog
