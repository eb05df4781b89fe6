"""What a check or a campaign found, as text, as a tally, and as a self-contained HTML page."""
