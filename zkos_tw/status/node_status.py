"""``NodeStatus``: the node's own account of its progress, read by the health endpoint.

Components report into it: the launcher sets the phase, the sequencer the last block, the L1
client a problem while L1 is unreachable. It holds no I/O and no clock of its own.
"""

from __future__ import annotations

from zope.interface import implementer

from zkos_tw.interfaces import IHealthSource

PHASES = ("starting", "running", "stopping", "failed")


@implementer(IHealthSource)
class NodeStatus:
    """Mutable status shared by the node's components (reactor thread only)."""

    def __init__(self, role: str):
        self.role = role
        self.phase = "starting"
        self._last_block: tuple[int, int] | None = None
        self._problems: dict[str, str] = {}
        self._sources: list = []
        self._sections: dict = {}

    def set_phase(self, phase: str) -> None:
        """Move to one of ``PHASES``."""
        if phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r}")
        self.phase = phase

    def block_sealed(self, number: int, timestamp: int) -> None:
        """Record the newest block (number and unix timestamp)."""
        self._last_block = (number, timestamp)

    def last_block(self):
        return self._last_block

    def set_problem(self, name: str, text: str) -> None:
        """Report that part ``name`` is unhealthy, with a short reason."""
        self._problems[name] = text

    def clear_problem(self, name: str) -> None:
        """Part ``name`` is healthy again."""
        self._problems.pop(name, None)

    def add_problem_source(self, source) -> None:
        """Also report ``source.problems()`` (a list of strings), e.g. the L1 connection's."""
        self._sources.append(source)

    def add_section(self, name: str, report) -> None:
        """Add ``name: report()`` (JSON-ready) to the health report, e.g. the L1 pipeline's."""
        self._sections[name] = report

    def sections(self) -> dict:
        """``{name: report()}`` of every section added."""
        return {name: report() for name, report in self._sections.items()}

    def problems(self):
        found = [f"{name}: {text}" for name, text in sorted(self._problems.items())]
        for source in self._sources:
            found.extend(source.problems())
        return found
