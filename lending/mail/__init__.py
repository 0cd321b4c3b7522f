"""Mail (issue 19): an outbox written in the transaction of the event that causes a message,
templates in English and Chinese (HTML + text), and delivery over SMTP by a background job."""
