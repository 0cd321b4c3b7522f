"""The operations dashboard: today's funnel and what waits for someone (read-only counts)."""
