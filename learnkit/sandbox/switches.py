"""Tenant-wide switches a test flips: the service plan, and device-code auto-approval.

Example: ``switches = Switches(); switches.service_plan = False  # every Graph call now gets the 403``
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Switches"]


@dataclass
class Switches:
    """``service_plan``: the tenant has a Viva Learning plan.

    ``auto_approve``: device codes sign in the demo learner on the first poll.
    """

    service_plan: bool = True
    auto_approve: bool = True

    def restore(self) -> None:
        """Back to the defaults."""
        self.service_plan = True
        self.auto_approve = True
