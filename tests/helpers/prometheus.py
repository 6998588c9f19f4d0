"""Reading a Prometheus `/metrics` page in tests: samples by name and labels."""

from __future__ import annotations

import re
import urllib.request
from dataclasses import dataclass, field

_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
_TYPE = re.compile(r"^# TYPE (\S+) (\S+)")


@dataclass
class Scrape:
    """One page: every sample as (name, labels, value), and each family's declared type."""

    samples: list[tuple[str, dict[str, str], float]] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)

    def names(self) -> set[str]:
        return {name for name, _, _ in self.samples}

    def value(self, name: str, **labels: str) -> float | None:
        """The sum of the samples of `name` whose labels include `labels`; None if none."""
        found = [v for n, sample_labels, v in self.samples if n == name and labels.items() <= sample_labels.items()]
        return sum(found) if found else None


def parse(text: str) -> Scrape:
    scrape = Scrape()
    for line in text.splitlines():
        declared = _TYPE.match(line)
        if declared:
            scrape.types[declared.group(1)] = declared.group(2)
            continue
        if not line or line.startswith("#"):
            continue
        sample = _SAMPLE.match(line)
        assert sample, f"not a Prometheus sample line: {line!r}"
        labels = dict(_LABEL.findall(sample.group("labels") or ""))
        scrape.samples.append((sample.group("name"), labels, float(sample.group("value"))))
    return scrape


def scrape(url: str) -> Scrape:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        assert response.headers.get_content_type() == "text/plain"
        return parse(response.read().decode())
