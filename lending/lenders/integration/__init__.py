"""Talking to lenders' systems: the adapter protocol, its HTTP adapter and the circuit breaker.

How this is wired to applications (built in lending/lenders/tasks.py, api/routes/lender_webhooks.py
and `registry`, which says where each lender's API and secrets come from; nothing in this package
imports the application tables):

- Submitting. `submit_application` (a tool that requires approval) moves the application to
  `submitted` and, in the same transaction, enqueues one job `lenders.submit_application` per
  chosen lender. The job builds an `ApplicationPayload` from the application (a score band, never
  the SSN or any other identity data), calls `adapter.submit(payload, idempotency_key=...)` with
  the id of the submission row it keeps per (application, lender) — so a job re-run after a crash
  is deduplicated by the lender exactly like the adapter's own retries — and stores the receipt's
  `external_id`. `LenderUnavailable` (and its subclasses, which say when to come back) makes the
  job retry later; `LenderRequestRejected` is recorded on the submission and not retried.
- Decisions. The webhook route `api/routes/lender_webhooks.py` (`POST
  /api/v1/lenders/webhooks/{lender_code}`, the `callback_url` each adapter is configured with)
  reads the raw body and calls `adapter.verify_webhook(request.headers, body)`:
  `WebhookRejected` is a 401 (logged), `DuplicateWebhook` is answered 200 without acting again
  (the lender is only re-delivering), and a verified event goes to the applications service,
  which records the lender's decision and offers and moves the application. If that fails, the
  route calls `adapter.release_webhook(event)` before answering 5xx, so the lender's retry is
  processed rather than taken for a duplicate. A periodic job calls `fetch_decision` for
  submissions still pending after a while, in case a webhook never arrives.
- One adapter per lender per process, kept for the life of the process, so that its circuit
  breaker sees every call to that lender; a collector on the app's metrics registry reads
  `adapter.breaker.state` for each lender.
"""
