"""Typed tools over the lending services: one capability each, scope-guarded, with a registry.

`tools.registry.registry` lists every tool; `tools.langchain.langchain_tools` adapts the ones an
actor may use to LangChain tools; `ToolRegistry.execute` runs one call in its own transaction.
"""
