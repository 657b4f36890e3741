"""The embedded default's Celery broker: kombu's file-system transport, with each message written
atomically.

kombu (5.x) writes a message file in place and a worker may move and read it before the writer has
written a byte: the worker then fails with "Unrecoverable error: JSONDecodeError" and stops (seen
with beat, push-soon and webhook wake-ups queued from several processes at once). Here a message
is written beside its final name and renamed into it, which POSIX makes atomic, so a reader only
ever sees whole messages: the reader lists only names ending in ".msg". Written here because
kombu offers no option for it; the rest of the transport is kombu's own.
"""

import os
import uuid

from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        """Put `payload` onto `queue`: written under a temporary name, then renamed."""
        name = f"{int(round(filesystem.monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = f"{final}.part"
        try:
            with open(partial, "wb") as stream:
                stream.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
