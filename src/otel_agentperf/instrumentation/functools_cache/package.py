"""The functools cache helper needs no library beyond the standard one."""

_instruments: tuple[str, ...] = ()
