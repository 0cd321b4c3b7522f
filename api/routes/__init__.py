"""Thin routes: an auth dependency, a session dependency and one service call each."""
