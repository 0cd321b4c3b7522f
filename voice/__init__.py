"""LiveKit voice worker whose language model is the agent runner. Not built yet."""
