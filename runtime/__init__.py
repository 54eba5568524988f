"""torch side: shapes, compile, code export (and later training). No Qt."""
