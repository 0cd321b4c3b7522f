"""What the assistant graphs share: state, run context, the assistant and tools nodes, the builder."""
