"""Command-line programs: gzc-enc, gzc-dec, gzc-info, gzc-train."""
