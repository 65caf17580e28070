"""Throughput of typical API calls against a real server (a script, not a test).

Starts `tracker serve` on a free local port against the database given by URL (migrated
and loaded with demo data when empty), logs in as the demo adviser and manager, then sends
a bounded number of requests per endpoint with a fixed concurrency and prints requests per
second and each endpoint's ratio to the baseline `GET /health/live` measured in the same
run, so that figures from different (shared, noisy) machines compare.

    .venv/bin/python bench/api_bench.py --url postgresql://postgres@127.0.0.1/api_bench \\
        --requests 400 --concurrency 8 --workers 2
"""

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
TRACKER = str(Path(sys.executable).parent / "tracker")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def demo_credentials(workdir: Path) -> dict[str, tuple[str, str]]:
    lines = (workdir / "var" / "demo-credentials.txt").read_text().splitlines()
    return {
        role: (email, password) for email, password, role in (line.split("\t") for line in lines)
    }


async def wait_until_ready(base: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(100):
            try:
                if (await http.get(f"{base}/health/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("server did not become ready")


async def token(http: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    response = await http.post("/api/v1/auth/token", data={"username": email, "password": password})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def measure(
    http: httpx.AsyncClient, path: str, headers: dict[str, str], requests: int, concurrency: int
) -> float:
    remaining = requests
    failures = 0

    async def worker() -> None:
        nonlocal remaining, failures
        while remaining > 0:
            remaining -= 1
            response = await http.get(path, headers=headers)
            if response.status_code != 200:
                failures += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{path}: {failures} non-200 responses")
    return requests / elapsed


async def run(base: str, workdir: Path, requests: int, concurrency: int) -> None:
    await wait_until_ready(base)
    accounts = demo_credentials(workdir)
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        adviser = await token(http, *accounts["adviser"])
        manager = await token(http, *accounts["manager"])
        loans = (await http.get("/api/v1/loans?status=active&limit=1", headers=manager)).json()
        loan_id = loans["items"][0]["id"]
        cases = [
            ("GET /health/live (baseline)", "/health/live", {}),
            ("GET /auth/me", "/api/v1/auth/me", adviser),
            ("GET /loans/{id}", f"/api/v1/loans/{loan_id}", manager),
            (
                "GET /holders?status=in_support",
                "/api/v1/holders?status=in_support&limit=50",
                adviser,
            ),
            ("GET /loans?in_arrears=true", "/api/v1/loans?in_arrears=true&limit=50", manager),
            ("GET /me/worklist", "/api/v1/me/worklist", adviser),
            ("GET /reports/portfolio", "/api/v1/reports/portfolio", manager),
        ]
        baseline = None
        print(f"{'endpoint':<34} {'req/s':>8} {'x baseline':>10}")
        for name, path, headers in cases:
            await measure(http, path, headers, max(20, requests // 10), concurrency)  # warm up
            rate = await measure(http, path, headers, requests, concurrency)
            baseline = baseline or rate
            print(f"{name:<34} {rate:>8.0f} {rate / baseline:>10.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="database URL (migrated and seeded if empty)")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--workdir", default=str(ROOT / "var" / "api-bench"))
    args = parser.parse_args()

    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    env = os.environ | {
        "DATABASE_URL": args.url,
        "SECRET_KEY": "bench-secret-key-0123456789-0123456789-0123",
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run(
        [TRACKER, "db", "upgrade"], env=env, cwd=workdir, check=True, capture_output=True
    )
    subprocess.run(
        [TRACKER, "demo-data", "--if-empty"], env=env, cwd=workdir, check=True, capture_output=True
    )
    port = free_port()
    server = subprocess.Popen(
        [TRACKER, "serve", "--port", str(port), "--workers", str(args.workers)],
        env=env,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        asyncio.run(run(f"http://127.0.0.1:{port}", workdir, args.requests, args.concurrency))
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
