"""The fault harness (`make faults`); see __main__.py."""
