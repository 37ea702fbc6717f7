"""``BackgroundServer``: the real uvicorn server in a thread, on a free loopback port (tests, benchmarks).

with BackgroundServer(create_app(index_dir)) as srv:
    urllib.request.urlopen(srv.url + "/api/stats")
"""

from __future__ import annotations

import threading
import time


class BackgroundServer:
    """Runs ``app`` with uvicorn on ``host`` (port 0: the OS picks a free one) until the block ends.

    Raises (on enter): ``RuntimeError`` when the server does not start within ``timeout`` seconds.
    """

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, timeout: float = 30.0):
        import uvicorn

        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", access_log=False, lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="claims-serve", daemon=True)
        self.timeout = timeout
        self.host = host
        self.port = port

    def __enter__(self) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + self.timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the claims server did not start")
            time.sleep(0.02)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=self.timeout)
