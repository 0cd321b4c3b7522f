"""Loan applications: borrower profiles, consents, the status table, required fields, DTI/LTV."""
