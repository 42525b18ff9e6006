"""The embedded OpenAI-compatible server: scripted replies on a real socket.

See :mod:`.app` for the script format and the faults it can inject.
"""

from .app import Fault, RecordedRequest, Reply, Script, Server, load_script

__all__ = ["Fault", "RecordedRequest", "Reply", "Script", "Server", "load_script"]
