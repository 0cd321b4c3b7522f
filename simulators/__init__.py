"""Stand-ins for external systems that cannot run here, behind the same interfaces as the real ones."""
