"""A small JSON status API on 127.0.0.1, for notebooks/poller.ipynb (standard library only).

    python3 status_api.py          prints "listening on PORT (pid PID)" once it accepts connections

Routes (GET):
    /status          200 {"service", "healthy", "requests", "uptime"}: "requests" counts the calls
    /flaky?fail=N    503 {"error": "warming up"} for the first N calls with that query, then 200
                     as /status: something for cru.retry to retry
    anything else    404

It stops on SIGINT (what cru.shell sends when the task running it is cancelled or interrupted)
and when the process that started it goes away, so nothing is left running.
"""

from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

STARTED = time.monotonic()


class Handler(BaseHTTPRequestHandler):
    requests = 0
    failures: dict[str, int] = {}
    lock = threading.Lock()

    def do_GET(self) -> None:  # the name http.server calls
        url = urlsplit(self.path)
        with self.lock:
            Handler.requests += 1
            count = Handler.requests
            if url.path == "/flaky":
                fail = int(parse_qs(url.query).get("fail", ["1"])[0])
                seen = Handler.failures.get(url.query, 0)
                Handler.failures[url.query] = seen + 1
                if seen < fail:
                    return self.reply(503, {"error": "warming up"})
        if url.path in ("/status", "/flaky"):
            uptime = round(time.monotonic() - STARTED, 1)
            body = {"service": "demo-api", "healthy": True, "requests": count, "uptime": uptime}
            return self.reply(200, body)
        return self.reply(404, {"error": f"no route {url.path}"})

    def reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        print(f"{self.command} {self.path} -> {args[1] if len(args) > 1 else '?'}", flush=True)


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    parent = os.getppid()

    def orphaned() -> None:  # the kernel that started us is gone: stop too
        while os.getppid() == parent:
            time.sleep(0.5)
        server.shutdown()

    threading.Thread(target=orphaned, daemon=True).start()
    print(f"listening on {server.server_port} (pid {os.getpid()})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
