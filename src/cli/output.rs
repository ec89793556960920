//! Rendering of records as a table, a wide table, JSON or YAML.
