"""The quality gate: a run's summary against the floors (and latency ceilings) in ``thresholds.yaml``.

The file has ``floors`` and ``ceilings`` for the whole set, and the same per ``by_category``, ``by_lang`` or
``by_family`` group. Every breach is reported with the metric, the group, the value and the limit. A limit on a
metric the run had nothing to measure with (``None``: e.g. hit@1 of a group without expected sources) is a
breach too: the gate cannot say the floor is met.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from evals.metrics import GROUPINGS


def _check(values: dict, limits: dict, group: str) -> list[str]:
    breaches = []
    for metric, floor in (limits.get("floors") or {}).items():
        if metric not in values:
            breaches.append(f"{group}: unknown metric '{metric}'")
        elif values[metric] is None:
            breaches.append(f"{group}: {metric} had nothing to measure, so the floor {floor} cannot be checked")
        elif values[metric] < floor:
            breaches.append(f"{group}: {metric} = {values[metric]} is below the floor {floor}")
    for metric, ceiling in (limits.get("ceilings") or {}).items():
        if metric not in values:
            breaches.append(f"{group}: unknown metric '{metric}'")
        elif values[metric] is None:
            breaches.append(f"{group}: {metric} had nothing to measure, so the ceiling {ceiling} cannot be checked")
        elif values[metric] > ceiling:
            breaches.append(f"{group}: {metric} = {values[metric]} is above the ceiling {ceiling}")
    return breaches


def check_gate(summary: dict, thresholds: Path) -> list[str]:
    spec = yaml.safe_load(thresholds.read_text()) or {}
    breaches = _check(summary, spec, "overall")
    for grouping in GROUPINGS:
        for name, limits in (spec.get(grouping) or {}).items():
            if name not in summary.get(grouping, {}):
                breaches.append(f"{grouping}.{name}: no such group in the run")
            else:
                breaches += _check(summary[grouping][name], limits, f"{grouping}.{name}")
    return breaches
