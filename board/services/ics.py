"""iCalendar files (RFC 5545) for accepted meetings, written by hand.

Lines end in CRLF and are folded at 75 octets (never inside a UTF-8 character); text values
are escaped; times are UTC ("...Z"), so no VTIMEZONE is needed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

CRLF = "\r\n"
LIMIT = 75  # octets per line, not counting the CRLF
PRODID = "-//Zhongguancun Fengtai Park//Rail Transit Matchmaking Board//ZH"


@dataclass(frozen=True)
class Event:
    uid: str
    stamp: dt.datetime
    start: dt.datetime
    end: dt.datetime
    summary: str
    location: str | None = None
    url: str | None = None
    description: str | None = None
    status: str = "CONFIRMED"


def escape(value: str) -> str:
    """A TEXT value: backslash, semicolon, comma and line breaks escaped."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\n", "\\n")


def utc(value: dt.datetime) -> str:
    """A DATE-TIME in UTC form (naive values are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def fold(line: str) -> str:
    """Split one content line into physical lines of at most 75 octets; each continuation
    starts with a space (which counts towards its 75)."""
    if len(line.encode("utf-8")) <= LIMIT:
        return line
    parts: list[str] = []
    current: list[str] = []
    size, room = 0, LIMIT
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > room:
            parts.append("".join(current))
            current, size, room = [], 0, LIMIT - 1
        current.append(ch)
        size += n
    parts.append("".join(current))
    return (CRLF + " ").join(parts)


def _uri(value: str) -> str:
    """A URI value carries no escapes; line breaks and spaces are never part of one."""
    return "".join(ch for ch in value if ch > " ")


def calendar(events: list[Event]) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ]
    for e in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{_uri(e.uid)}",
            f"DTSTAMP:{utc(e.stamp)}",
            f"DTSTART:{utc(e.start)}",
            f"DTEND:{utc(e.end)}",
            f"SUMMARY:{escape(e.summary)}",
        ]
        if e.location:
            lines.append(f"LOCATION:{escape(e.location)}")
        if e.url:
            lines.append(f"URL:{_uri(e.url)}")
        if e.description:
            lines.append(f"DESCRIPTION:{escape(e.description)}")
        lines += [f"STATUS:{e.status}", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + CRLF for line in lines)
