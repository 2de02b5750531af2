"""The pure core: synchronous rules with no I/O, no asyncio and no clock reads.

Every function that depends on time takes ``now`` (seconds, monotonic) as an argument.
"""
