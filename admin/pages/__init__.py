"""One module per back-office section: thin handlers, one service call each."""
