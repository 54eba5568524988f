"""The command line: validate, summarise and export graph files without the editor."""
