"""Voice: a LiveKit Agents worker whose language model is the turn runner (issue 18).

`adapter` (our `llm.LLM` over the turn runner), `speakable` (what is read aloud), `worker` (the
LiveKit worker: `omnifin voice dev|start`). Room tokens are issued by the API
(agents.voice_sessions).
"""
