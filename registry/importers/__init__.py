"""Importers of existing AI use-case inventories (docs/import-mapping.md).

Each format module reads its file into SourceRows (read_rows) and maps one row onto the wire
record of RECORD.md (map_row); registry.importers.service.import_inventory validates and writes.
"""
