"""What "today" is, for every command alike."""

from __future__ import annotations

import datetime as dt
import os


def today() -> dt.date:
    """Today's date, or the date of SOURCE_DATE_EPOCH when it is set (a whole number of
    seconds since 1970), so that undated cases build reproducibly, shards and merge-print
    alike."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isascii() and epoch.isdecimal():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).date()
    return dt.date.today()
