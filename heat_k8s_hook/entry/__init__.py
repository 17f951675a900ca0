"""The processes Heat's agent starts: the hook (`hook`: one JSON answer within the deadline),
its supervising parent (`supervise`), the fast re-delivery (`fastpath`: standard library only,
before any heavy import) and delete by absence (`absence_run`).

May import the engine and everything below it; nothing imports `entry` except the CLI.
"""
