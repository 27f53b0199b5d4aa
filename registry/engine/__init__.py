"""Rules that need no database: field paths, dates in force, lint, diff, plugins."""
