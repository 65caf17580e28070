"""CPU time per call inside the service's process: the ASGI application called directly (no
HTTP server, no network client), so that what a change saves in the request path shows
without the noise of a load generator sharing the cores.

    .venv/bin/python bench/request_cpu.py --url postgresql://postgres@127.0.0.1/bench_x \\
        --email admin@demo.ma --password ... --path /api/v1/loans/10
    ... --method POST --path /api/v1/loans/10/repayments \\
        --body '{"amount": "0.01", "paid_on": "2026-12-03"}'

Logs in through the application, makes `--warm-up` calls, then reports the process CPU
time of `--calls` calls divided by their number. Every call must answer 2xx. To compare
two versions of the code, run the same command from a checkout of each, in alternation.
"""

import argparse
import json
import os
import time
from typing import Any
from urllib.parse import urlencode

import uvloop

Message = dict[str, Any]


async def call(
    app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes
) -> tuple[int, bytes]:
    """One request through the ASGI application: its status and body. `path` may carry a
    query string (`/api/v1/loans?limit=500`)."""
    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [(b"host", b"bench"), (b"content-length", str(len(body)).encode()), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "root_path": "",
        "state": {},
    }
    status = 0
    chunks: list[bytes] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def measure(args: argparse.Namespace) -> None:
    os.environ.update(DATABASE_URL=args.url, LOG_LEVEL="WARNING")
    from app.main import create_app  # after the environment: the settings are read then

    app = create_app()
    async with app.router.lifespan_context(app):
        form = urlencode({"username": args.email, "password": args.password}).encode()
        status, answer = await call(
            app,
            "POST",
            "/api/v1/auth/token",
            [(b"content-type", b"application/x-www-form-urlencoded")],
            form,
        )
        if status != 200:
            raise SystemExit(f"login answered {status}: {answer.decode()}")
        token = json.loads(answer)["access_token"]
        headers = [(b"authorization", f"Bearer {token}".encode())]
        body = args.body.encode()
        if body:
            headers.append((b"content-type", b"application/json"))
        for _ in range(args.warm_up):
            await call(app, args.method, args.path, headers, body)
        started = time.process_time()
        for _ in range(args.calls):
            status, answer = await call(app, args.method, args.path, headers, body)
            if not 200 <= status < 300:
                raise SystemExit(f"{args.method} {args.path} answered {status}: {answer.decode()}")
        spent = time.process_time() - started
    print(
        f"{args.method} {args.path}: {1000 * spent / args.calls:.3f} ms of CPU per call ({args.calls} calls)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="postgresql://user@host/database")
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body", default="", help="a JSON body")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--warm-up", type=int, default=300)
    uvloop.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
