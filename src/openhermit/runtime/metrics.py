"""Prometheus metrics of the agent runtime (names as the original publishes them)."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class RuntimeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        process_collector.ProcessCollector(registry=self.registry)
        platform_collector.PlatformCollector(registry=self.registry)
        gc_collector.GCCollector(registry=self.registry)
        self.turns = Counter(
            "openhermit_agent_turns_total", "Completed agent turns.", ["agent_id"], registry=self.registry
        )
        self.turn_duration = Histogram(
            "openhermit_agent_turn_duration_seconds",
            "Duration of agent turns.",
            ["agent_id"],
            buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300),
            registry=self.registry,
        )
        self.tokens = Counter(
            "openhermit_agent_tokens_total",
            "Model tokens.",
            ["agent_id", "direction"],
            registry=self.registry,
        )
        self.tool_calls = Counter(
            "openhermit_agent_tool_calls_total", "Tool calls.", ["agent_id", "tool"], registry=self.registry
        )
        self.errors = Counter(
            "openhermit_agent_errors_total", "Turn errors.", ["agent_id", "source"], registry=self.registry
        )
        self.messages = Counter(
            "openhermit_agent_messages_total",
            "Accepted messages.",
            ["agent_id", "source"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
