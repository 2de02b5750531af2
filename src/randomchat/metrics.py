"""Prometheus metrics, on a registry of their own so that each app has its own set."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from randomchat.store import Counts

_WAIT_BUCKETS = (0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300)
_MEDIA_BUCKETS = (0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 20, 30)
_RTT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.connected = Gauge(
            "randomchat_connected_users", "Authenticated connections", registry=r
        )
        self.waiting = Gauge("randomchat_waiting_users", "Users in the queue", registry=r)
        self.pairs = Gauge("randomchat_active_pairs", "Pairs in a call", registry=r)
        self.matches = Counter("randomchat_matches", "Pairs made", registry=r)
        self.wait_time = Histogram(
            "randomchat_wait_seconds",
            "Time a matched user waited in the queue",
            buckets=_WAIT_BUCKETS,
            registry=r,
        )
        self.signals = Counter(
            "randomchat_signals_relayed", "Signals relayed to a partner", ["type"], registry=r
        )
        self.refused = Counter(
            "randomchat_connections_refused", "Connections refused", ["reason"], registry=r
        )
        self.rate_limited = Counter(
            "randomchat_rate_limited", "Requests refused by a rate limit", ["action"], registry=r
        )
        self.invalid = Counter(
            "randomchat_invalid_payloads", "Events refused as malformed", ["event"], registry=r
        )
        self.log_lines_skipped = Counter(
            "randomchat_log_lines_skipped",
            "Log lines about malformed, unknown or refused client events not written "
            "(sampled, so that no client fills the disk); the events themselves are all "
            "counted in randomchat_invalid_payloads and randomchat_refused_requests",
            registry=r,
        )
        self.undelivered = Counter(
            "randomchat_undelivered_events",
            "Events for a socket this process does not hold (closed meanwhile, or on another node)",
            ["event"],
            registry=r,
        )
        # A cluster node's own faults (randomchat.inbox, randomchat.liveness).
        self.inbox_skipped = Counter(
            "randomchat_inbox_entries_skipped",
            "Cross-node inbox entries skipped as unreadable (reason: malformed, or an "
            "unknown_event, e.g. from a newer node in a rolling deploy); their log lines "
            "are sampled",
            ["reason"],
            registry=r,
        )
        self.cluster_task_failures = Counter(
            "randomchat_cluster_task_failures",
            "Cross-node writer or reader stopped by an unexpected error (restarted with "
            "back-off; given up after 5 failures in a row, and the node stops its heartbeat)",
            ["task"],
            registry=r,
        )
        self.redis_data_lost = Counter(
            "randomchat_redis_data_lost",
            "Times this node found that Redis had lost the cluster's data (a restart "
            "without persistence): calls end, waiting users are queued again",
            registry=r,
        )
        self.evicted = Counter(
            "randomchat_node_evicted",
            "Times the other nodes evicted this node (its heartbeat came too late)",
            registry=r,
        )
        self.refused_requests = Counter(
            "randomchat_refused_requests",
            "Well-formed requests the user's state does not allow (no partner, already waiting)",
            ["event"],
            registry=r,
        )
        self.time_to_media = Histogram(
            "randomchat_call_time_to_media_seconds",
            "From match-found to the first remote video frame, as reported by the page",
            buckets=_MEDIA_BUCKETS,
            registry=r,
        )
        self.call_outcomes = Counter(
            "randomchat_call_outcomes",
            "Calls by outcome as reported by the page: connected, or failed (ICE never "
            "connected); many failures with few relay calls mean TURN is missing or broken",
            ["outcome"],
            registry=r,
        )
        self.candidate_types = Counter(
            "randomchat_calls_by_candidate_type",
            "Connected calls by the local type of the selected ICE candidate pair",
            ["type"],
            registry=r,
        )
        self.call_rtt = Histogram(
            "randomchat_call_rtt_seconds",
            "Round-trip time of connected calls",
            buckets=_RTT_BUCKETS,
            registry=r,
        )

        self.chat_messages = Counter(
            "randomchat_chat_messages", "Chat messages relayed", registry=r
        )
        self.reports = Counter("randomchat_reports", "Reports filed", ["reason"], registry=r)
        self.bans = Counter(
            "randomchat_bans_enforced", "Bans that closed live connections", registry=r
        )

    def render(self, counts: Counts) -> bytes:
        self.connected.set(counts.connected)
        self.waiting.set(counts.waiting)
        self.pairs.set(counts.pairs)
        return generate_latest(self.registry)
