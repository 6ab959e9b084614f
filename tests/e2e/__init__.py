"""End-to-end tests: the officer app in Chromium against a real HQ (marked ``browser``)."""
