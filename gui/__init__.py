"""The Qt editor (next milestone). Talks to runtime/ through a small facade."""
