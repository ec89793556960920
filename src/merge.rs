//! Merging a new observation of an instance into a known record.
