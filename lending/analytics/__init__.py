"""Analytics (issue 20): domain events recorded with each change, and the dashboards' queries."""
