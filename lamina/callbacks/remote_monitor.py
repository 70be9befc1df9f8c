"""``RemoteMonitor``: posts each epoch's logs to a server (``keras.callbacks.RemoteMonitor``)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import warnings

import numpy as np

from lamina.callbacks.callback import Callback


class RemoteMonitor(Callback):
    """Sends ``{"epoch": epoch, **logs}`` to ``root + path`` with an HTTP POST at the end
    of every epoch (Python's ``urllib``; no extra package).

    Args:
        root: the server's address, e.g. ``"http://localhost:9000"``.
        path: the path the events are posted to.
        field: the form field holding the JSON text (when not ``send_as_json``).
        headers: extra HTTP headers, a dict.
        send_as_json: post the dict as a JSON body (``application/json``) instead of
            a form with one field.
        timeout: seconds to wait for the server before giving up on one post.

    A server that cannot be reached gives a warning, not an error; training goes on.
    """

    def __init__(self, root="http://localhost:9000", path="/publish/epoch/end/", field="data",
                 headers=None, send_as_json=False, timeout=10.0):
        super().__init__()
        self.root = root
        self.path = path
        self.field = field
        self.headers = headers
        self.send_as_json = send_as_json
        self.timeout = timeout

    def on_epoch_end(self, epoch, logs=None) -> None:
        send = {"epoch": epoch}
        for key, value in (logs or {}).items():
            send[key] = value.item() if isinstance(value, (np.ndarray, np.generic)) else value
        headers = dict(self.headers or {})
        if self.send_as_json:
            body = json.dumps(send).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(send)}).encode("utf-8")
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        request = urllib.request.Request(self.root + self.path, data=body, headers=headers,
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError:
            pass  # the server got the post and answered; its status is not ours to judge
        except (urllib.error.URLError, OSError):
            warnings.warn(f"Could not reach RemoteMonitor root server at {self.root}",
                          stacklevel=2)
