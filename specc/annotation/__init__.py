"""Annotation quality: annotation tables, readers, agreement metrics and label aggregation."""
