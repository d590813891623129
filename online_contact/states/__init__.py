"""Reflex states: thin — validate input, call a service, publish through realtime/."""
