"""In-app notifications: one message per user at each step that concerns them.

Depends on auth only; any later package (proposals, matching) calls `notify`.
"""
