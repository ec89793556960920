//! Joins observations from pods, events and node files into records.
