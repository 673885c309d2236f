"""The built-in annotators: human rounds (Label Studio, CSV), rule labels, audits, and the card section on them."""
