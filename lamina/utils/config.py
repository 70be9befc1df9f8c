"""``Config``: a dict of named values with attribute access, freezing and JSON export
(``keras.utils.Config``)."""

from __future__ import annotations

import difflib
import json

# Names that belong to the Config object itself rather than to its entries.
_OWN_ATTRIBUTES = frozenset({"_entries", "_frozen"})


class Config:
    """A dict-like container of named values.

    Entries are read and written as attributes (``config.lr = 0.1``) or items
    (``config["lr"]``). After :meth:`freeze`, any change raises ``ValueError``.
    Iterating gives the keys in sorted order.

    Args:
        **kwargs: the initial entries.
    """

    def __init__(self, **kwargs):
        object.__setattr__(self, "_entries", dict(kwargs))
        object.__setattr__(self, "_frozen", False)

    @property
    def frozen(self) -> bool:
        """Whether the config refuses changes."""
        return self._frozen

    def freeze(self) -> None:
        """Refuses every later change (until :meth:`unfreeze`)."""
        object.__setattr__(self, "_frozen", True)

    def unfreeze(self) -> None:
        """Allows changes again."""
        object.__setattr__(self, "_frozen", False)

    def _check_mutable(self) -> None:
        if self._frozen:
            raise ValueError("Cannot mutate attribute(s) because the config is frozen.")

    def as_dict(self) -> dict:
        """A shallow copy of the entries as a plain dict."""
        return dict(self._entries)

    def to_json(self) -> str:
        """The entries as a JSON string."""
        return json.dumps(self._entries)

    def keys(self):
        return self._entries.keys()

    def values(self):
        return self._entries.values()

    def items(self):
        return self._entries.items()

    def get(self, keyname, value=None):
        """The entry ``keyname``, or ``value`` when absent."""
        return self._entries.get(keyname, value)

    def pop(self, *args):
        """Removes and returns an entry, as ``dict.pop``."""
        self._check_mutable()
        return self._entries.pop(*args)

    def update(self, *args, **kwargs) -> None:
        """Adds or replaces entries, as ``dict.update``."""
        self._check_mutable()
        self._entries.update(*args, **kwargs)

    def __setattr__(self, name, value):
        if name in _OWN_ATTRIBUTES or hasattr(type(self), name):
            object.__setattr__(self, name, value)
            return
        self._check_mutable()
        self._entries[name] = value

    def __getattr__(self, name):
        # Only called when normal lookup fails: the name is an entry or unknown.
        entries = object.__getattribute__(self, "_entries")
        if name in entries:
            return entries[name]
        message = f"Unknown attribute: '{name}'."
        close = difflib.get_close_matches(name, [str(k) for k in entries], n=1, cutoff=0.7)
        if close:
            message += f" Did you mean '{close[0]}'?"
        raise AttributeError(message)

    def __setitem__(self, key, item):
        self._check_mutable()
        self._entries[key] = item

    def __getitem__(self, key):
        return self._entries[key]

    def __delitem__(self, key):
        self._check_mutable()
        del self._entries[key]

    def __contains__(self, item) -> bool:
        return item in self._entries

    def __iter__(self):
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self):
        return f"<Config {self._entries}>"
