"""The fallback load generator when wrk is missing: asyncio + httpx, bounded in time.

Run as `python -m bench.pyload '<Load as JSON>'`; prints one line in wrk's result format. It is
far slower than wrk (one Python process), so it measures less of the server's limit.
"""

import asyncio
import json
import sys
import time

import httpx

from bench.load import MARK, Load


async def _drive(load: Load) -> dict[str, int]:
    latencies: list[float] = []
    errors = {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}
    received = 0
    sep = "&" if "?" in load.url else "?"
    limits = httpx.Limits(
        max_connections=load.connections, max_keepalive_connections=load.connections
    )
    timeout = httpx.Timeout(load.timeout)
    started = time.monotonic()
    deadline = started + load.seconds
    async with httpx.AsyncClient(limits=limits, timeout=timeout, headers=load.headers) as client:

        async def worker(wid: int) -> None:
            nonlocal received
            n = 0
            while time.monotonic() < deadline:
                n += 1
                url = f"{load.url}{sep}{load.buster}={wid}-{n}" if load.cold else load.url
                t0 = time.monotonic()
                try:
                    response = await client.get(url)
                except httpx.TimeoutException:
                    errors["timeout"] += 1
                    continue
                except httpx.ConnectError:
                    errors["connect"] += 1
                    continue
                except httpx.HTTPError:
                    errors["read"] += 1
                    continue
                latencies.append(time.monotonic() - t0)
                received += len(response.content)
                if response.status_code > 399:
                    errors["status"] += 1

        await asyncio.gather(*(worker(i) for i in range(load.connections)))
    elapsed = time.monotonic() - started
    latencies.sort()

    def pct(p: float) -> int:
        if not latencies:
            return 0
        return int(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1e6)

    return {
        "requests": len(latencies),
        "duration_us": int(elapsed * 1e6),
        "bytes": received,
        **errors,
        "p50_us": pct(50),
        "p90_us": pct(90),
        "p99_us": pct(99),
        "max_us": int(latencies[-1] * 1e6) if latencies else 0,
    }


def main() -> None:
    load = Load(**json.loads(sys.argv[1]))
    print(MARK + json.dumps(asyncio.run(_drive(load))))


if __name__ == "__main__":
    main()
