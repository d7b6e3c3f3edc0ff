"""Delivery channels, deliveries and their attempt log."""
