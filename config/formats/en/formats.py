"""One way to write dates everywhere (admin, catalogue, exports' pages): the day, the month in
words and the year, which no reader in the network can take for another date. Input is ISO 8601
only (YYYY-MM-DD, what the browser's date picker sends): 01/03/2025 means 1 March in most of the
network and 3 January in Django's default English input formats, so it is refused instead."""

DATE_FORMAT = "j F Y"
DATETIME_FORMAT = "j F Y, H:i e"
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
DATE_INPUT_FORMATS = ["%Y-%m-%d"]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
]
FIRST_DAY_OF_WEEK = 1  # Monday
