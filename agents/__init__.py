"""LangGraph agents, model factory, guided policy and the turn runner. No code yet: the agent issue builds it."""
