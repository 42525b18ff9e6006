"""A benchmark's server (or client) in a child process, so that the client under test has its own core.

``target(conn, *args)`` runs in a spawned process (nothing of the parent is
inherited), sends one message once it is ready (a server: its port and whatever
the parent needs), and runs until the parent writes ``"stop"`` to ``conn`` or
exits; :meth:`Child.send` and :meth:`Child.recv` talk to it meanwhile.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Any


class Child:
    def __init__(self, target: Callable[..., None], *args: Any, timeout: float = 120.0) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=target, args=(child, *args), daemon=True)
        self._proc.start()
        child.close()
        if not self._conn.poll(timeout):
            raise RuntimeError("the child process did not start")
        self.hello: Any = self._conn.recv()

    def send(self, message: Any) -> None:
        self._conn.send(message)

    def recv(self, timeout: float = 600.0) -> Any:
        if not self._conn.poll(timeout):
            raise RuntimeError("the child process did not answer")
        return self._conn.recv()

    def close(self) -> None:
        try:
            self._conn.send("stop")
        except OSError:  # it is gone already (it failed): nothing to stop
            pass
        self._proc.join(5)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join()


async def serve(conn: Any, app: Any, hello: Callable[[int], Any]) -> None:
    """In the child: serve ``app`` (plus ``GET /cpu``, this process's CPU seconds) on a
    free port, send ``hello(port)`` to the parent, run until it writes or exits."""
    import asyncio
    import time

    from aiohttp import web

    async def cpu(request: web.Request) -> web.Response:
        return web.Response(text=repr(time.process_time()))

    app.router.add_get("/cpu", cpu)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    conn.send(hello(runner.addresses[0][1]))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_reader(conn.fileno(), stop.set)
    await stop.wait()
    await runner.cleanup()
