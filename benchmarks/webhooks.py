"""A burst of PagerDuty webhooks: ``events`` signed V3 deliveries at once (``incidents`` incidents, each
triggered, acknowledged, escalated, noted, re-prioritised, resolved…, a few delivered out of order and some
twice) POSTed over real HTTP to the receiver ``alex serve`` mounts, live cards posted to the fake Slack.

Measured: the HTTP answers (p50/p99, what PagerDuty waits for), the time from each delivery to its card being
drawn (the event's processing done: ``chat.update`` or ``chat.postMessage`` and its thread reply returned;
p50/p99/max), how long the burst takes to drain, whether **every card** ends on its incident's newest state
with exactly one message per incident, and the peak RSS growth of the run. Needs the repository's tests/
(the fake Slack and the payload builders).
"""

from __future__ import annotations

import asyncio
import random
import resource
import statistics
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from bot.notify.events import WebhookEvent
from bot.notify.receiver import WEBHOOK_PATH, WebhookReceiver
from bot.notify.routes import Routing, parse_routes
from bot.slack.notify_cards import LiveCards
from bot.slack.serve import web_app
from bot.store.memory import MemoryState
from tests.fakes.fake_slack import FakeSlack
from tests.notify.payloads import SECRET, body, changed, event, headers, incident, note

CHANNEL = "C0BENCHPAY"
ICONS = {"triggered": ":red_circle:", "acknowledged": ":large_yellow_circle:", "resolved": ":white_check_mark:"}
REDELIVERED = 0.05
"""The share of the burst that is a second delivery of an event (PagerDuty's at-least-once)."""
TO_CARD_P99_MS = 10_000.0
"""The target for a burst of 1,000 (the queue drains in order: the last card waits for the burst)."""


@dataclass
class WebhookFigures:
    events: int
    incidents: int
    accepted: int
    duplicates: int
    answer_p50_ms: float
    answer_p99_ms: float
    to_card_p50_ms: float
    to_card_p99_ms: float
    to_card_max_ms: float
    drain_ms: float
    posts: int
    updates: int
    replies: int
    cards_correct: int
    cards_wrong: int
    rss_growth_mib: float

    @property
    def all_correct(self) -> bool:
        return self.cards_wrong == 0 and self.cards_correct == self.incidents


def burst(events: int, incidents: int, seed: int = 15) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """``events`` deliveries over ``incidents`` incidents, and the status each card must end on."""
    rng = random.Random(seed)
    per = max(2, round(events * (1 - REDELIVERED)) // incidents)
    out: list[dict[str, Any]] = []
    final: dict[str, str] = {}
    for n in range(incidents):
        data = incident(pd_id=f"PBENCH{n:04d}", number=10_000 + n, title=f"Benchmark incident {n}")
        steps: list[dict[str, Any]] = [event("incident.triggered", data, minutes=n)]
        status = "triggered"
        for i in range(1, per):
            kind = ("acknowledged", "escalated", "annotated", "priority_updated", "unacknowledged", "reassigned")[
                (i - 1) % 6]
            if i == per - 1 and n % 3:
                kind = "resolved"
            status = {"acknowledged": "acknowledged", "unacknowledged": "triggered", "resolved": "resolved"}.get(
                kind, status)
            if kind == "annotated":
                steps.append(event("incident.annotated", note(data["id"], f"step {i}"), minutes=n + i))
            else:
                steps.append(event(f"incident.{kind}", changed(data, status=status), minutes=n + i))
        final[data["id"]] = status
        for i in range(1, len(steps) - 1):  # PagerDuty keeps order; a proxy or a retry may not
            if rng.random() < 0.1:
                steps[i], steps[i + 1] = steps[i + 1], steps[i]
        out += steps
    out = out[:events]
    out += rng.sample(out, max(0, events - len(out)))
    return out, final


async def measure(events: int = 1_000, incidents: int = 100) -> WebhookFigures:
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with FakeSlack() as fake:
        state = MemoryState()
        routing = Routing(parse_routes(f"payments-api={CHANNEL}"), state.notify)
        cards = LiveCards(AsyncWebClient(token="xoxb-bench", base_url=fake.api_url), state.notify, routing)
        done: dict[str, float] = {}

        async def handle(received: WebhookEvent) -> None:
            await cards.handle(received)
            done[received.id] = time.perf_counter()

        receiver = WebhookReceiver([SECRET], state, handle, keep_times=True)
        await receiver.start()
        runner = web.AppRunner(web_app(None, signing_secret=None, webhooks=receiver))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        payloads, final = burst(events, incidents)
        answers: list[float] = []
        sent: dict[str, float] = {}
        try:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as http:

                async def deliver(payload: dict[str, Any]) -> None:
                    raw = body(payload)
                    started = time.perf_counter()
                    sent.setdefault(payload["event"]["id"], started)
                    async with http.post(f"http://127.0.0.1:{port}{WEBHOOK_PATH}", data=raw,
                                         headers=headers(raw)) as response:
                        await response.read()
                    answers.append((time.perf_counter() - started) * 1000)

                began = time.perf_counter()
                await asyncio.gather(*[deliver(p) for p in payloads])
                await receiver.idle(within=300)
                drain_ms = (time.perf_counter() - began) * 1000
        finally:
            await receiver.aclose()
            await runner.cleanup()
        correct, wrong = _check(fake, final)
        to_card = sorted((done[i] - sent[i]) * 1000 for i in done if i in sent)
        calls = fake.methods()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return WebhookFigures(
        events=len(payloads), incidents=incidents, accepted=receiver.counts.accepted,
        duplicates=receiver.counts.duplicates, answer_p50_ms=round(statistics.median(answers), 1),
        answer_p99_ms=round(_p99(sorted(answers)), 1), to_card_p50_ms=round(statistics.median(to_card), 1),
        to_card_p99_ms=round(_p99(to_card), 1), to_card_max_ms=round(to_card[-1], 1), drain_ms=round(drain_ms, 1),
        posts=cards.posts, updates=cards.updates, replies=calls.count("chat.postMessage") - cards.posts,
        cards_correct=correct, cards_wrong=wrong, rss_growth_mib=round((rss_after - rss_before) / 1024, 1))


def _check(fake: FakeSlack, final: dict[str, str]) -> tuple[int, int]:
    """How many cards end right (one message per incident, on its newest status) and how many do not."""
    shown: dict[str, tuple[str, str]] = {}  # ts -> (incident, text)
    per_incident: dict[str, int] = {}
    for call in fake:
        if call.method == "chat.postMessage" and not call.args.get("thread_ts"):
            text = str(call.args.get("text"))
            incident_id = next((i for i in final if f"incident_row:{i}" in str(call.args.get("blocks"))), "?")
            shown[str(call.answer["ts"])] = (incident_id, text)
            per_incident[incident_id] = per_incident.get(incident_id, 0) + 1
        elif call.method == "chat.update":
            incident_id, _ = shown[str(call.args["ts"])]
            shown[str(call.args["ts"])] = (incident_id, str(call.args.get("text")))
    correct = sum(1 for incident_id, text in shown.values() if per_incident.get(incident_id) == 1
                  and text.startswith(ICONS[final.get(incident_id, "triggered")]))
    return correct, len(final) - correct


def _p99(values: list[float]) -> float:
    return values[min(len(values) - 1, int(len(values) * 0.99))] if values else 0.0


def table(f: WebhookFigures) -> str:
    verdict = "every card correct" if f.all_correct else f"**{f.cards_wrong} cards wrong**"
    return "\n".join([
        f"PagerDuty webhooks: a burst of {f.events:,} deliveries ({f.incidents} incidents, some out of order, "
        f"{f.duplicates} redelivered) over HTTP",
        "", "| measure | value |", "|---|---:|",
        f"| HTTP answer p50 / p99, 100 connections at once (ms) | {f.answer_p50_ms:g} / {f.answer_p99_ms:g} |",
        f"| delivery → card drawn p50 / p99 / max (ms) | {f.to_card_p50_ms:g} / {f.to_card_p99_ms:g} / "
        f"{f.to_card_max_ms:g} |",
        f"| whole burst drained (ms) | {f.drain_ms:,.0f} |",
        f"| cards posted / updates / thread replies | {f.posts} / {f.updates} / {f.replies} |",
        f"| cards | {verdict} ({f.cards_correct}/{f.incidents}) |",
        f"| peak RSS growth (MiB) | {f.rss_growth_mib:g} |",
    ])


if __name__ == "__main__":
    print(table(asyncio.run(measure())))
