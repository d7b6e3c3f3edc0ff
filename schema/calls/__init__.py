"""Call leads: tracking numbers (operator), the telephony webhooks."""
