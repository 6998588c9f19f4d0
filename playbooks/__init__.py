"""The default playbooks: one TOML file per engagement model (`<model>.toml`).

They are data, editable by CS ops; `journey.domain.playbook_files.load_playbooks()` reads and validates
them (`journey playbook validate` does the same from the CLI).
"""

from pathlib import Path

DEFAULT_DIR = Path(__file__).parent
"""The directory holding enterprise.toml, scaled.toml, pooled.toml and digital.toml."""
