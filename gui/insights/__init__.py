"""Training insight views: each turns training events (numpy, floats) into a live picture."""
