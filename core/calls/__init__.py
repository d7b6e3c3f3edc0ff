"""Call leads (seed 000's "Call Logic"): tracking numbers, the ring tree and
billing connected calls through the same sale as web leads.

- :mod:`.providers`: the telephony providers plugins registered.
- :mod:`.numbers`: tracking numbers (operator) and campaign call settings (partner).
- :mod:`.location`: where a caller is (area code, or a ZIP keyed in).
- :mod:`.ringing`: the webhooks of a call: answer, ring, bill, pause.
"""
