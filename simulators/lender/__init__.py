"""A lender simulator: the lender API the HTTP adapter speaks, with latency, failures and rules."""
