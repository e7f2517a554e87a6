"""Date-times and time zones as Graph writes them: one module for every part of learnkit.

Graph has two kinds of date-time. An *instant* (``DateTimeOffset``: ``assignedDateTime``,
``completedDateTime``, ``startedDateTime``) is ISO 8601 with an offset and up to seven
fractional digits. A *local time in a zone* (``dateTimeTimeZone``: ``dueDateTime``) is
``{"dateTime": "2022-09-22T16:05:00.0000000", "timeZone": "Pacific Standard Time"}``: a
wall-clock time with no offset, read in a zone named the IANA way or the Windows way.

Example::

    parse_iso("2021-05-11T22:57:17.1234567+02:00")          # aware datetime (microseconds kept)
    graph_local(datetime(2022, 9, 22, 16, 5))               # '2022-09-22T16:05:00.0000000'
    zone("Pacific Standard Time").key                        # 'America/Los_Angeles'
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import datetime, timedelta, timezone
from functools import lru_cache

__all__ = [
    "graph_instant",
    "graph_local",
    "is_known_zone",
    "known_time_zones",
    "parse_iso",
    "time_zone_names",
    "utc_text",
    "zone",
    "zoned_instant",
]

_ISO = re.compile(
    r"\s*(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}:?\d{2})?\s*"
)


def parse_iso(text: str) -> datetime:
    """A datetime from ISO 8601 text: any fraction length (cut to microseconds), naive when it has no offset.

    ``ValueError`` says what was expected when the text is not one.

    >>> parse_iso("2024-01-02T03:04:05.1234567Z").isoformat()
    '2024-01-02T03:04:05.123456+00:00'
    >>> parse_iso("2024-01-02").isoformat()
    '2024-01-02T00:00:00'
    """
    found = _ISO.fullmatch(text)
    if not found:
        raise ValueError(f"{text!r} is not an ISO 8601 date-time like 2021-05-11T22:57:17+00:00")
    year, month, day, hour, minute, second, fraction, offset = found.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    tz = None
    if offset:
        if offset in ("Z", "z"):
            tz = timezone.utc
        else:
            sign = -1 if offset[0] == "-" else 1
            digits = offset[1:].replace(":", "")
            tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    return datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro, tz)


def graph_local(moment: datetime) -> str:
    """A wall-clock time as ``dateTimeTimeZone.dateTime`` text (seven fractional digits, no offset).

    >>> graph_local(datetime(2022, 9, 22, 16, 5, 0, 120000))
    '2022-09-22T16:05:00.1200000'
    """
    # isoformat, not strftime: glibc's %Y writes the year 1 as "1", which no ISO reader takes back.
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "0"


def utc_text(moment: datetime) -> str:
    """An aware instant as UTC ISO text with microseconds: one spelling per instant (naive is read as UTC).

    >>> utc_text(parse_iso("2024-01-02T03:04:05+01:00"))
    '2024-01-02T02:04:05.000000+00:00'
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


@lru_cache(maxsize=1)
def _windows_names() -> dict[str, str]:
    from tzlocal.windows_tz import win_tz

    return dict(win_tz)


@lru_cache(maxsize=256)
def zone(name: str) -> zoneinfo.ZoneInfo:
    """The zone an IANA name (``Europe/Paris``) or a Windows name (``Romance Standard Time``) means.

    ``ValueError`` when it is neither. Cached: every row of a provider names one of a few zones.

    >>> zone("Europe/Paris").key, zone("Pacific Standard Time").key
    ('Europe/Paris', 'America/Los_Angeles')
    """
    key = _windows_names().get(name, name)
    try:
        return zoneinfo.ZoneInfo(key)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not a time zone: use an IANA name such as Europe/Paris, or a Windows "
            "name such as Pacific Standard Time"
        ) from None


@lru_cache(maxsize=1)
def known_time_zones() -> frozenset[str]:
    """Every zone name Graph may carry: IANA names, Windows names and ``UTC``."""
    return frozenset(zoneinfo.available_timezones()) | frozenset(_windows_names()) | {"UTC"}


def is_known_zone(name: str) -> bool:
    """Whether ``name`` is an IANA or Windows time-zone name.

    >>> is_known_zone("Romance Standard Time"), is_known_zone("Mars/Olympus")
    (True, False)
    """
    return name in known_time_zones()


@lru_cache(maxsize=1)
def time_zone_names() -> tuple[str, ...]:
    """The IANA zones a person picks from (region/city), ``UTC`` first."""
    return ("UTC", *sorted(z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith("Etc/")))


def zoned_instant(local: datetime | str, zone_name: str) -> datetime:
    """The instant a wall-clock time names in a zone (``dueDateTime``'s meaning): the one rule learnkit reads it by.

    A time a clock change repeats (an overlap) or skips (a gap) is read with PEP 495's
    ``fold=0``: in an overlap the first of the two instants (the offset before the change,
    daylight time in autumn), in a gap the offset before the change too (so Pacific
    ``02:30`` on a spring-forward day is ``10:30Z``, the instant ``03:30`` daylight time
    names). Python's ``zoneinfo`` does so, and so does Windows' zone conversion behind
    Graph's ``dateTimeTimeZone``; Graph's pages name no other rule. The plans, the
    fingerprint, the audit, the form and the sandbox all place a due date here
    (``learnkit.bulk.frame.due_instants`` a column at a time, placing only what pandas
    places the same way and the rest with this function).

    >>> utc_text(zoned_instant("2024-07-01T12:00:00.0000000", "Romance Standard Time"))
    '2024-07-01T10:00:00.000000+00:00'
    >>> utc_text(zoned_instant("2024-11-03T01:30:00", "Pacific Standard Time"))  # repeated: the first
    '2024-11-03T08:30:00.000000+00:00'
    >>> utc_text(zoned_instant("2024-03-10T02:30:00", "America/Los_Angeles"))  # skipped: the offset before
    '2024-03-10T10:30:00.000000+00:00'
    """
    moment = parse_iso(local) if isinstance(local, str) else local
    return moment.replace(tzinfo=zone(zone_name), fold=0)


def graph_instant(text: str) -> str:
    """An instant's text as Graph returns it: UTC with ``Z``, the fraction of a second as given (up to 7 digits).

    Graph's DateTimeOffset has 100 ns ticks and Python's datetime microseconds, so the
    fraction is carried as text. ``ValueError`` for text that is not an aware ISO 8601 instant.

    >>> graph_instant("2021-05-11T23:57:17.1234567+01:00")
    '2021-05-11T22:57:17.1234567Z'
    """
    found = _ISO.fullmatch(text)
    moment = parse_iso(text)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no offset: an instant needs one (…Z or …+00:00)")
    fraction = found.group(7) if found else None
    stamp = moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds")  # 4-digit year
    return f"{stamp}.{fraction[:7]}Z" if fraction else f"{stamp}Z"
