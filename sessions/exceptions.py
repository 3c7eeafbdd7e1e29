"""What the charging flow refuses: commands it cannot answer, events that do not fit a session."""

from __future__ import annotations


class CommandRefused(Exception):
    """A command that cannot even be answered with a CommandResponse; the view sends an OCPI error."""

    status_code = 2000

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownLocationError(CommandRefused):
    """status_codes, 2003: "Command: START_SESSION with unknown location"."""

    status_code = 2003


class CommandParameterError(CommandRefused):
    """status_codes, 2001: invalid or missing parameters."""

    status_code = 2001


class SessionStateError(Exception):
    """A charger event that does not fit the session's state (such as meter values after the stop)."""


class ImplausibleMeterValue(SessionStateError):
    """A meter register that cannot be true: lower than an earlier one, or risen faster than the
    connector can deliver. Nothing of the report is stored."""
