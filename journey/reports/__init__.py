"""Reports: their numbers from the store (`data`), drawn into self-contained HTML with
matplotlib (`render`, the only module that imports it)."""
