"""In-app notifications (issue 19): written with the event, listed and marked read by their person."""
